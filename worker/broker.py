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

Lanes. The transport keeps each queue as one Redis list per priority step (the plain queue
name for priority 0, ``{queue}{sep}{priority}`` for the others) and its consumers' BRPOP
reads them in order, priority 0 first, every queue's. The dispatcher sends messages that
carry only work already started (create retries, resumed steps, jobs whose message was
lost, jobs re-sent from behind a slow create) at :data:`STARTED_PRIORITY`, and the
messages of jobs not yet started at :data:`UNSTARTED_PRIORITY`, so a started job's message
overtakes every new job's message already queued. This module is the one place that knows
those lists' names (:func:`queue_lists`); whatever measures a queue's depth reads them all
(:func:`queued`), or, for the room a new message of one lane has, the lists read before or
with it. Messages restored by the transport (unacknowledged ones, after a worker's warm
shutdown or the visibility timeout) keep their priority, so they go back to their own
lane's consumer end.
"""

from __future__ import annotations

import logging

import redis
from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import redis as kombu_redis
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger("jobfleet.broker")

STARTED_PRIORITY = 0  # the transport's first list: read before every other
UNSTARTED_PRIORITY = 9  # its last: a new job's message waits behind all started work


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
    """Makes ``redis://`` and ``rediss://`` (TLS) broker URLs use this transport in this
    process: kombu maps both schemes to the one Redis transport this one extends."""
    for scheme in ("redis", "rediss"):
        TRANSPORT_ALIASES[scheme] = f"{__name__}:Transport"


def priority_of(unstarted: bool) -> int:
    """The priority of a message carrying jobs not yet started (``unstarted``) or not."""
    return UNSTARTED_PRIORITY if unstarted else STARTED_PRIORITY


def queue_lists(queue: str, through: int = UNSTARTED_PRIORITY) -> list[str]:
    """The Redis lists holding Celery queue ``queue``'s messages of priority 0 to
    ``through``: the messages a new one of priority ``through`` is taken after or with.
    Named as the transport names them (its separator and priority steps)."""
    return [f"{queue}{Channel.sep}{step}" if step else queue
            for step in Channel.priority_steps if step <= through]


def queued(client: redis.Redis, queue: str, through: int = UNSTARTED_PRIORITY) -> int:
    """Messages waiting in ``queue`` at priorities 0 to ``through`` (every lane by default):
    one pipelined LLEN per list. Raises what redis-py raises."""
    pipe = client.pipeline(transaction=False)
    for name in queue_lists(queue, through):
        pipe.llen(name)
    return sum(pipe.execute())
