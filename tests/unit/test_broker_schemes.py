"""Both Redis URL schemes reach the fleet's transport (its teardown and reconnect fixes)."""

from __future__ import annotations

import pytest
from kombu import Connection

from worker import broker


@pytest.mark.parametrize("url", ["redis://127.0.0.1:1/0", "rediss://127.0.0.1:1/0"])
def test_a_broker_url_of_either_scheme_uses_the_fleets_transport(url):
    broker.install()
    connection = Connection(url)
    try:
        assert type(connection.transport) is broker.Transport
    finally:
        connection.release()
