"""Both Redis URL schemes reach the fleet's transport (its teardown and reconnect fixes).

Checked in a fresh interpreter, as a worker starts: kombu caches the transport class it
resolved for a scheme, so a process that made a connection before ``install`` (as this test
process does, in other tests) keeps kombu's own."""

from __future__ import annotations

import subprocess
import sys

import pytest

from devtools.localfleet import REPO

PROBE = ("from worker import broker; broker.install(); from kombu import Connection; "
         "c = Connection({url!r}); print(type(c.transport) is broker.Transport)")


@pytest.mark.parametrize("url", ["redis://127.0.0.1:1/0", "rediss://127.0.0.1:1/0"])
def test_a_broker_url_of_either_scheme_uses_the_fleets_transport(url):
    run = subprocess.run([sys.executable, "-c", PROBE.format(url=url)], cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert run.stdout.strip() == "True", run.stdout + run.stderr
