"""The Redis broker transport, hardened for a worker whose tasks run in threads.

The connections the consumer's event loop reads (its BRPOP and its remote-control
subscription) never retry a command inside redis-py. With a retry, a subscription whose
connection was cut is reconnected in the middle of the loop's read, and the read then waits
on the fresh connection, without a timeout, for a message that may never come: the whole
consumer hangs while the process lives on (reproduced in ``bench/README.md``, "A consumer
that stops taking messages"). Without one, the cut surfaces as a connection error, and
Celery reconnects the consumer as it does after a Redis restart. (``retry_on_timeout``, which
the fleet sets for its other connections, is what would give these connections a retry.)

When Redis goes away (a restart), kombu's Redis transport can be torn down by the consumer
while a task thread acknowledges its message, and closing the channel then fails with an
``AttributeError`` (the channel's connection is already gone). Celery treats that as
unrecoverable and the whole worker exits. Nothing is lost by going on instead: an
acknowledgement that did not happen leaves the message in Redis's unacked set, and the job
it carries is resumed by our own lease either way (a redelivery is a harmless duplicate).
"""

from __future__ import annotations

import logging

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import redis as kombu_redis
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger("jobfleet.broker")


class QoS(kombu_redis.QoS):
    def ack(self, delivery_tag) -> None:
        try:
            super().ack(delivery_tag)
        except AttributeError:
            log.warning("broker connection gone while acknowledging; the message stays unacked")


class Channel(kombu_redis.Channel):
    QoS = QoS

    def _connparams(self, asynchronous: bool = False) -> dict:
        params = super()._connparams(asynchronous=asynchronous)
        if asynchronous:  # the event loop's connections: an error, never a blocking retry
            params["retry"] = Retry(NoBackoff(), 0)
            params["retry_on_timeout"] = False
        return params

    def close(self) -> None:
        try:
            super().close()
        except AttributeError:
            log.warning("broker connection gone while closing a channel; reconnecting")


class Transport(kombu_redis.Transport):
    Channel = Channel


def install() -> None:
    """Makes ``redis://`` broker URLs use this transport in this process."""
    TRANSPORT_ALIASES["redis"] = f"{__name__}:Transport"
