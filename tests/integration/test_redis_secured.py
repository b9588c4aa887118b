"""Redis with a password, and with TLS: workers, producers, the CLI and Flower all work, and
the password in the URL is never printed.

The TLS case needs a redis-server built with TLS (``--tls-port``); the certificate is made
by the test itself. Without TLS support that case skips with one line.
"""

from __future__ import annotations

import datetime
import ipaddress
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from config.settings import FleetSettings
from devtools.localfleet import REPO, fleet_env, redis_binary, stop_process
from emulator.control import free_port
from emulator.samples import sample_job
from producers.api import Fleet
from tests.fixtures.fleet import TEST_SETTINGS, WorkerPool, wait_done
from tests.fixtures.flower import running_flower, task_names, wait_for_tasks, wait_until_heard

pytestmark = pytest.mark.integration

PASSWORD = "s3cret-redis-pw-8f2c"


def tls_supported(binary: str) -> bool:
    """Whether this redis-server knows ``--tls-port`` (a build without TLS refuses it)."""
    probe = subprocess.run([binary, "--port", "0", "--tls-port", "1"],  # exits: no cert given
                           capture_output=True, text=True, timeout=10)
    return "tls-cert-file" in probe.stdout + probe.stderr


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jobfleet-test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "redis.crt", folder / "redis.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def start_redis(folder: Path, tls: bool) -> tuple[subprocess.Popen, str]:
    """A redis-server with a password (and TLS); returns it and the URL to reach it."""
    port = free_port()
    args = [redis_binary(), "--bind", "127.0.0.1", "--dir", str(folder), "--save", "",
            "--requirepass", PASSWORD]
    url = f"redis://:{PASSWORD}@127.0.0.1:{port}/0"
    if tls:
        cert, key = make_certificate(folder)
        args += ["--port", "0", "--tls-port", str(port), "--tls-cert-file", str(cert),
                 "--tls-key-file", str(key), "--tls-ca-cert-file", str(cert),
                 "--tls-auth-clients", "no"]
        url = (f"rediss://:{PASSWORD}@127.0.0.1:{port}/0"
               f"?ssl_cert_reqs=required&ssl_ca_certs={cert}")
    else:
        args += ["--port", str(port)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while True:
        try:
            if redis.Redis.from_url(url, socket_timeout=1).ping():
                return proc, url
        except redis.RedisError:
            if time.monotonic() > deadline:
                stop_process(proc)
                raise
            time.sleep(0.1)


@pytest.fixture(params=["password", "tls"])
def secured(request, tmp_path):
    tls = request.param == "tls"
    if tls and not tls_supported(redis_binary()):
        pytest.skip("this redis-server has no TLS support (--tls-port)")
    proc, url = start_redis(tmp_path, tls)
    yield url
    stop_process(proc)


def test_the_whole_fleet_runs_on_a_secured_redis_and_never_prints_its_password(
    secured, emulator, tmp_path
):
    env = fleet_env(secured, emulator.url, tmp_path / "results", **TEST_SETTINGS)
    pool = WorkerPool(env, tmp_path)  # its logs() reads every log in tmp_path, Flower's too
    pool.start("secured")
    fleet = Fleet(FleetSettings(redis_url=secured))
    try:
        with running_flower(env, tmp_path, FLOWER_UNAUTHENTICATED_API="true") as flower:
            wait_until_heard(flower, pool.procs)  # so Flower sees the tasks below
            jobs = [sample_job(f"s-{i}", "deeporigin", "tool", duration_s=0.2)
                    for i in range(4)]
            batch = fleet.enqueue_batch(jobs, batch="secured")
            assert wait_done(fleet, batch, timeout_s=60)["states"]["succeeded"] == 4
            cli = subprocess.run([sys.executable, "-m", "producers.cli", "status", batch],
                                 env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
            assert cli.returncode == 0, cli.stderr
            wait_for_tasks(flower, lambda tasks: "jobfleet.finalize" in task_names(tasks))
    finally:
        fleet.close()
        pool.stop_all()
    printed = pool.logs() + cli.stdout + cli.stderr
    assert PASSWORD not in printed
