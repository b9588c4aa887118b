"""A platform answering with intent to harm: a body too big to hold, a redirect that would
carry our credentials to another host, output files named to escape a folder, presigned
URLs pointing somewhere else. Each is contained, and the job says exactly why it failed."""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.fixtures.fleet import private_fleet, wait_done

pytestmark = pytest.mark.integration

LIMIT = {"JOBFLEET_MAX_RESPONSE_MB": "1", "JOBFLEET_MAX_STEP_ERRORS": "2",
         "JOBFLEET_HTTP_RETRIES": "0"}
CREDENTIAL_HEADERS = ("authorization", "x-api-key", "cookie")


class Elsewhere:
    """Another host: records every request it gets, and sends it back where it came from."""

    def __init__(self, home: str) -> None:
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                recorder.seen.append((self.command, self.path,
                                      {k.lower(): v for k, v in self.headers.items()}))
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                self.send_response(307)
                self.send_header("Location", home + self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_PUT = do_POST = do_HEAD = do_PATCH = _any  # noqa: N815

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def credentials_seen(self) -> list[str]:
        return [f"{method} {path.split('?')[0]}: {name}" for method, path, headers in self.seen
                for name in CREDENTIAL_HEADERS if name in headers]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def hostile_fleet(private_emulator, tmp_path_factory):
    with private_fleet(private_emulator, tmp_path_factory.mktemp("hostile"), **LIMIT) as fleet:
        yield fleet[0]


@pytest.fixture
def platform(private_emulator):
    private_emulator.restore_defaults()
    elsewhere = Elsewhere(private_emulator.url)
    yield private_emulator, elsewhere
    private_emulator.restore_defaults()
    elsewhere.close()


def job(key: str, **extra) -> dict:
    return {"key": key, "provider": "deeporigin", "kind": "tool",
            "params": {"tool": "deeporigin.docking",
                       "inputs": {"ligand": key, "_emulator": {"duration_s": 0.3}}}, **extra}


def run_one(fleet, line: dict) -> dict:
    batch = fleet.enqueue_batch([line], batch=f"hostile-{line['key']}")
    wait_done(fleet, batch, timeout_s=60)
    [result] = fleet.results(batch)
    return result


def test_a_body_past_the_size_bound_is_not_read_and_the_job_fails_naming_the_limit(
    hostile_fleet, platform
):
    emulator, _ = platform
    emulator.configure("deeporigin", hostile="huge_body", hostile_bytes=8 * 1024 * 1024)
    line = run_one(hostile_fleet, job("huge"))
    assert (line["state"], line["reason"]) == ("failed", "unsafe_answer")
    assert re.fullmatch(
        r"deeporigin HTTP 200: (GET|POST) /deeporigin/\S+: answer larger than the 1 MB limit "
        r"\(JOBFLEET_MAX_RESPONSE_MB\); not read further", line["error"]
    ), line["error"]


def test_a_redirect_to_another_host_is_not_followed_with_our_credentials(hostile_fleet, platform):
    emulator, elsewhere = platform
    emulator.configure("deeporigin", hostile="redirect", hostile_url=elsewhere.url)
    line = run_one(hostile_fleet, job("redirected"))
    assert (line["state"], line["reason"]) == ("failed", "unsafe_answer")
    host = elsewhere.url.removeprefix("http://")
    assert re.fullmatch(
        rf"deeporigin HTTP 307: (GET|POST) /deeporigin/\S+: redirected to another host "
        rf"\({re.escape(host)}\); not followed with our credentials", line["error"]
    ), line["error"]
    assert elsewhere.seen == []


def test_an_output_file_named_to_climb_out_of_its_folder_fails_the_job(hostile_fleet, platform):
    emulator, _ = platform
    emulator.configure("deeporigin", hostile="file_name", hostile_name="../../x")
    line = run_one(hostile_fleet, job("climber"))
    assert (line["state"], line["reason"]) == ("failed", "unsafe_answer")
    assert line["error"] == (
        "deeporigin: unsafe output file key '../../x': climbs out of its folder"
    )


def test_presigned_urls_on_another_host_are_fetched_without_our_credentials(
    hostile_fleet, platform
):
    emulator, elsewhere = platform
    emulator.configure("deeporigin", hostile="presign_elsewhere", hostile_url=elsewhere.url)
    line = run_one(hostile_fleet, job("presigned", upload={"to": "deeporigin"}))
    assert line["state"] == "succeeded", line
    methods = sorted({method for method, _, _ in elsewhere.seen})
    assert methods == ["PUT"]  # the upload went there (outputs are downloaded directly)
    assert elsewhere.credentials_seen() == []
