"""The Redis broker transport, hardened for a worker whose tasks run in threads.

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

log = logging.getLogger("jobfleet.broker")


class QoS(kombu_redis.QoS):
    def ack(self, delivery_tag) -> None:
        try:
            super().ack(delivery_tag)
        except AttributeError:
            log.warning("broker connection gone while acknowledging; the message stays unacked")


class Channel(kombu_redis.Channel):
    QoS = QoS

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
