"""The shared HTTP layer: one table for the status mapping, a scripted local server for retries.

Sleep and clock are injected, so no test waits for a backoff; the server is a real
``http.server`` on 127.0.0.1, so requests, adapters and tenacity run unmocked.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from worker.errors import (
    AuthError,
    BadResponse,
    PermanentError,
    RateLimited,
    Throttled,
    TransientError,
)
from worker.providers.base import Provider
from worker.providers.http import HttpClient, make_session
from worker.providers.http_errors import error_for, parse_retry_after
from worker.providers.http_retry import BACKOFF_MAX_S, SLEEP_BUDGET_S
from worker.providers.types import (
    Created,
    JobSpec,
    Outputs,
    Refused,
    RemoteState,
    RemoteStatus,
    Submission,
    Unknown,
)

TOKEN = "eyJhbGciOiJub25lIn0.eyJleHAiOjQxMDI0NDQ4MDB9.s3cr3t-signature"  # JWT-shaped
NOW = 1_700_000_000.0
DROP = 0  # a scripted "status" for: the server hangs up after reading the request


def hand_built(status: int, body: bytes = b"", headers: dict[str, str] | None = None):
    """A ``requests.Response`` as the adapter would build it, without a network."""
    response = requests.Response()
    response.status_code = status
    response._content = body
    response.headers.update(headers or {})
    response.encoding = "utf-8"
    return response


MAPPING = [
    # status, body, headers, exception type, text in message, retry_after
    (401, b'{"message": "token expired"}', {}, AuthError, "token expired", None),
    (403, b'{"error": "not in this org"}', {}, AuthError, "not in this org", None),
    (429, b"slow down", {"Retry-After": "7"}, RateLimited, "slow down", 7.0),
    (429, b"", {}, RateLimited, "HTTP 429", None),
    (408, b"request timeout", {}, TransientError, "request timeout", None),
    (500, b"boom", {}, TransientError, "boom", None),
    (502, b"bad gateway", {}, TransientError, "bad gateway", None),
    (503, b"busy", {"Retry-After": "2"}, TransientError, "busy", 2.0),
    (504, b"gateway timeout", {}, TransientError, "gateway timeout", None),
    (507, b"insufficient storage", {}, TransientError, "insufficient storage", None),
    (400, b'{"message": "m", "error": "e", "detail": "d"}', {}, PermanentError, "m", None),
    (404, b'{"error": "e", "detail": "d"}', {}, PermanentError, "e", None),
    (409, b'{"detail": "d"}', {}, PermanentError, "d", None),
    (422, b'{"detail": [{"loc": ["inputs"]}]}', {}, PermanentError, '"loc"', None),
    (410, b"plain text gone", {}, PermanentError, "plain text gone", None),
]


@pytest.mark.parametrize(("status", "body", "headers", "kind", "text", "retry_after"), MAPPING)
def test_each_status_maps_to_the_decision_the_worker_makes(
    status, body, headers, kind, text, retry_after
):
    err = error_for("acme", hand_built(status, body, headers), now=NOW)
    assert type(err) is kind
    assert err.status == status and err.provider == "acme"
    assert text in err.message
    assert getattr(err, "retry_after", None) == retry_after


def test_a_credential_echoed_in_an_error_body_is_redacted():
    body = json.dumps({"message": f"bad header Authorization: Bearer {TOKEN}"}).encode()
    err = error_for("acme", hand_built(401, body), now=NOW)
    assert TOKEN not in str(err) and TOKEN not in err.body and "s3cr3t" not in repr(err)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("5", 5.0),
        ("1.5", 1.5),
        (" 0 ", 0.0),
        (formatdate(NOW + 30, usegmt=True), 30.0),
        (formatdate(NOW - 30, usegmt=True), 0.0),  # a date in the past means "now"
        ("-3", None),
        ("nan", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_is_read_as_seconds_or_as_an_http_date(value, seconds):
    assert parse_retry_after(value, NOW) == seconds


# --- retries against a scripted local server -------------------------------------------


@dataclass
class Script:
    """Replies the server gives in order (then 200 ``{}``), and the requests it saw."""

    url: str = ""
    replies: deque = field(default_factory=deque)
    seen: list = field(default_factory=list)

    def reply(self, status: int, body: bytes = b"{}", headers=None, delay: float = 0.0) -> None:
        self.replies.append((status, body, headers or {}, delay))


def _handler(script: Script) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            script.seen.append(
                (self.command, self.path, dict(self.headers), self.rfile.read(length))
            )
            status, body, headers, delay = (
                script.replies.popleft() if script.replies else (200, b"{}", {}, 0.0)
            )
            time.sleep(delay)
            if status == DROP:  # read the request, then hang up without a word
                self.close_connection = True
                return
            try:
                self.send_response(status)
                for name, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out on purpose

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _answer  # noqa: N815

        def log_message(self, *args) -> None:
            pass

    return Handler


@pytest.fixture
def server() -> Iterator[Script]:
    script = Script()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(script))
    script.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    yield script
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def sleeps() -> list[float]:
    return []


def client_for(url: str, sleeps: list[float], **kwargs) -> HttpClient:
    options = {"retries": 2, "sleep": sleeps.append, "clock": lambda: NOW, "timeout_s": 5.0}
    return HttpClient(
        "acme", url, headers={"Authorization": f"Bearer {TOKEN}"}, **(options | kwargs)
    )


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_a_get_absorbs_two_503s_and_returns_the_third_answer(server, sleeps):
    server.reply(503, b"busy")
    server.reply(503, b"busy")
    server.reply(200, b'{"ok": true}')
    assert client_for(server.url, sleeps).json("GET", "/x") == {"ok": True}
    assert len(server.seen) == 3
    assert len(sleeps) == 2 and all(0 < s <= BACKOFF_MAX_S for s in sleeps)


def test_a_get_gives_up_with_a_transient_error_once_its_retries_are_spent(server, sleeps):
    for _ in range(5):
        server.reply(502, b"bad gateway")
    with pytest.raises(TransientError, match="bad gateway") as caught:
        client_for(server.url, sleeps).request("GET", "/x")
    assert caught.value.status == 502 and len(server.seen) == 3


def test_a_short_retry_after_is_slept_exactly(server, sleeps):
    server.reply(429, b"", {"Retry-After": "1"})
    client_for(server.url, sleeps).request("GET", "/x")
    assert sleeps == [1.0] and len(server.seen) == 2


def test_an_http_date_retry_after_is_measured_with_the_injected_clock(server, sleeps):
    server.reply(503, b"", {"Retry-After": formatdate(NOW + 3, usegmt=True)})
    client_for(server.url, sleeps).request("GET", "/x")
    assert sleeps == [3.0]


def test_a_retry_after_beyond_the_cap_raises_rate_limited_without_sleeping(server, sleeps):
    server.reply(429, b"", {"Retry-After": "120"})
    with pytest.raises(RateLimited) as caught:
        client_for(server.url, sleeps).request("GET", "/x")
    assert caught.value.retry_after == 120.0
    assert sleeps == [] and len(server.seen) == 1


def test_a_post_that_may_have_created_something_is_not_retried_after_a_5xx(server, sleeps):
    server.reply(503, b"busy")
    with pytest.raises(TransientError):
        client_for(server.url, sleeps).request("POST", "/jobs", json={"a": 1})
    assert len(server.seen) == 1 and sleeps == []


def test_a_post_is_retried_after_a_429_because_the_server_refused_it(server, sleeps):
    server.reply(429, b"", {"Retry-After": "0"})
    server.reply(201, b'{"id": "j1"}')
    assert client_for(server.url, sleeps).json("POST", "/jobs", json={}) == {"id": "j1"}
    assert [seen[0] for seen in server.seen] == ["POST", "POST"]


def test_a_404_fails_at_once_with_the_platforms_message(server, sleeps):
    server.reply(404, b'{"detail": "Execution e1 not found"}')
    with pytest.raises(PermanentError, match="Execution e1 not found") as caught:
        client_for(server.url, sleeps).request("GET", "/executions/e1")
    assert "GET /executions/e1" in str(caught.value) and sleeps == []


def test_a_401_raises_auth_error_and_nothing_carries_the_token(server, sleeps, caplog):
    caplog.set_level(logging.DEBUG)
    server.reply(503, f"echo Authorization: Bearer {TOKEN}".encode())
    server.reply(401, f'{{"message": "bad token {TOKEN}"}}'.encode())
    with pytest.raises(AuthError) as caught:
        client_for(server.url, sleeps).request("GET", "/x")
    assert server.seen[0][2]["Authorization"] == f"Bearer {TOKEN}"  # it was sent...
    assert TOKEN not in str(caught.value) and TOKEN not in caught.value.body  # ...not shown
    assert "s3cr3t" not in caplog.text and len(server.seen) == 2


def test_a_refused_connection_is_a_transient_error_chained_from_requests(sleeps):
    with pytest.raises(TransientError) as caught:
        client_for(closed_port_url(), sleeps, retries=1).request("GET", "/x")
    assert isinstance(caught.value.__cause__, requests.ConnectionError)
    assert len(sleeps) == 1


def test_a_read_timeout_is_a_transient_error(server, sleeps):
    server.reply(200, b"{}", delay=0.5)
    with pytest.raises(TransientError, match="Timeout") as caught:
        client_for(server.url, sleeps, retries=0, timeout_s=0.1).request("GET", "/slow")
    assert isinstance(caught.value.__cause__, requests.Timeout)


def test_total_sleeping_stays_within_the_budget_however_many_retries(server, sleeps):
    for _ in range(40):
        server.reply(503, b"busy")
    with pytest.raises(TransientError):
        client_for(server.url, sleeps, retries=30).request("GET", "/x")
    assert 0 < sum(sleeps) <= SLEEP_BUDGET_S and len(server.seen) == len(sleeps) + 1


def test_the_before_request_hook_runs_before_every_attempt(server, sleeps):
    calls = []
    server.reply(500)
    client_for(server.url, sleeps, before_request=lambda: calls.append(1)).request("GET", "/x")
    assert len(calls) == 2


def test_a_rate_limit_raised_by_the_hook_is_slept_like_a_server_hint(server, sleeps):
    hints = [RateLimited("fleet budget spent", provider="acme", retry_after=0.25)]

    def limiter() -> None:
        if hints:
            raise hints.pop()

    client_for(server.url, sleeps, before_request=limiter).request("POST", "/jobs")
    assert sleeps == [0.25] and len(server.seen) == 1


def test_a_body_that_is_not_json_is_a_bad_response_quoting_it(server, sleeps):
    server.reply(200, b"<html>upstream oops</html>")
    with pytest.raises(BadResponse, match="upstream oops"):
        client_for(server.url, sleeps).json("GET", "/x")


def test_presigned_urls_are_fetched_without_our_auth_header(server, sleeps):
    server.reply(200, b"file bytes")
    client = client_for("http://unused.invalid", sleeps, session=make_session(2))
    assert client.download(f"{server.url}/bucket/k?X-Amz-Signature=abc") == b"file bytes"
    client.upload(f"{server.url}/bucket/k?X-Amz-Signature=abc", b"up")
    (_, path, headers, _), (method, _, put_headers, body) = server.seen
    assert path == "/bucket/k?X-Amz-Signature=abc" and "Authorization" not in headers
    assert (method, body, put_headers["Content-Type"]) == ("PUT", b"up", "application/octet-stream")
    assert "Authorization" not in put_headers


def test_a_presigned_urls_signature_never_reaches_an_error_message(sleeps):
    url = f"{closed_port_url()}/bucket/k?X-Amz-Signature=topsecret"
    with pytest.raises(TransientError) as caught:
        client_for("http://unused.invalid", sleeps, retries=0).download(url)
    assert "topsecret" not in str(caught.value) and "/bucket/k" in str(caught.value)


def test_a_base_url_path_prefix_is_kept_when_joining_paths(server, sleeps):
    client_for(f"{server.url}/deeporigin/", sleeps).request("GET", "/tools/acme/clusters")
    assert server.seen[0][1] == "/deeporigin/tools/acme/clusters"


class OneCallProvider(Provider):
    """The smallest provider: its create is one POST whose answer names the remote job."""

    def __init__(self, http: HttpClient) -> None:
        self.http = http

    def submit(self, job: JobSpec) -> Submission:
        answer = self.http.json("POST", "/jobs", json=dict(job.params), idempotent=False)
        if not isinstance(answer, dict) or not isinstance(answer.get("id"), str):
            raise BadResponse("create answer without an id", provider="acme", status=201)
        return Submission(answer["id"], RemoteStatus(RemoteState.PENDING, "queued"))

    def status(self, remote_id: str, kind: str) -> RemoteStatus:
        raise NotImplementedError

    def fetch_outputs(self, remote_id: str, kind: str, status: RemoteStatus) -> Outputs:
        raise NotImplementedError


JOB = JobSpec(job_id="j1", kind="k", params={"a": 1})


@pytest.mark.parametrize(
    ("reply", "outcome"),
    [
        ((201, b'{"id": "r-1"}'), Created),
        ((400, b'{"message": "bad input"}'), Refused),  # an error status is an answer: no
        ((503, b"busy"), Refused),
        ((429, b"slow down", {"Retry-After": "60"}), Refused),
        ((201, b"<html>oops</html>"), Unknown),  # accepted, and unreadable
        ((201, b'{"no": "id"}'), Unknown),  # readable, but not what a create answers
        ((200, b"{}", {}, 0.5), Unknown),  # sent, and the answer came too late
        ((DROP, b""), Unknown),  # sent, and the connection dropped
    ],
)
def test_the_http_layer_says_whether_a_create_may_have_happened(server, sleeps, reply, outcome):
    server.reply(*reply)
    provider = OneCallProvider(client_for(server.url, sleeps, retries=0, timeout_s=0.2))
    result = provider.create(JOB)
    assert type(result) is outcome
    assert len(server.seen) == 1  # a create is sent once, whatever happens
    if outcome is Created:
        assert result.submission.remote_id == "r-1"


def test_a_create_that_never_left_is_refused(sleeps):
    unreachable = OneCallProvider(client_for(closed_port_url(), sleeps, retries=0))
    refused = unreachable.create(JOB)
    assert type(refused) is Refused and isinstance(refused.error.__cause__,
                                                   requests.ConnectionError)


def test_a_create_our_own_limiter_held_back_is_refused(server, sleeps):
    class Full:
        def before_request(self) -> None:
            raise Throttled("fleet-wide limit", provider="acme", retry_after=9.0)

        def rate_limited(self, retry_after: float | None) -> None:
            pass

    provider = OneCallProvider(client_for(server.url, sleeps, throttle=Full()))
    assert type(provider.create(JOB)) is Refused and server.seen == []


def test_a_gzip_bomb_is_not_inflated_past_the_bound():
    import gzip

    from worker.errors import UnsafeAnswer
    from worker.providers.http_errors import gunzip_bounded

    bomb = gzip.compress(b"\0" * (3 * 1024 * 1024))
    assert len(bomb) < 10_000
    assert gunzip_bounded("moderately", gzip.compress(b"fine"), limit=1024) == b"fine"
    with pytest.raises(UnsafeAnswer) as caught:
        gunzip_bounded("moderately", bomb, limit=1024 * 1024)
    assert str(caught.value) == ("moderately: gzip output larger than the 1 MB limit "
                                 "(JOBFLEET_MAX_RESPONSE_MB); not inflated further")
    with pytest.raises(EOFError):
        gunzip_bounded("moderately", gzip.compress(b"cut short")[:-8], limit=1024)
