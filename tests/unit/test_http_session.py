"""The pooled session reads the environment's proxy settings once per origin: still honoured."""

from __future__ import annotations

import pytest

from worker.providers.session import make_session

PROXY = "http://proxy.invalid:3128"


@pytest.fixture
def proxied(monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY", "no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", PROXY)
    monkeypatch.setenv("NO_PROXY", "direct.invalid")


def settings(session, url):
    return session.merge_environment_settings(url, {}, True, None, None)


def test_the_environments_proxy_is_used_and_no_proxy_still_bypasses_it(proxied):
    session = make_session(2)
    assert settings(session, "http://api.invalid/a")["proxies"].get("http") == PROXY
    assert "http" not in settings(session, "http://direct.invalid/a")["proxies"]


def test_each_origin_is_read_once_and_every_caller_gets_its_own_copy(proxied, monkeypatch):
    session = make_session(2)
    first = settings(session, "http://api.invalid/a")
    monkeypatch.setenv("HTTP_PROXY", "http://other.invalid:1")  # read once: not seen
    again = settings(session, "http://api.invalid/b")
    assert again == first and again["proxies"] is not first["proxies"]
    assert settings(session, "http://new.invalid/")["proxies"]["http"] == "http://other.invalid:1"


def test_a_call_with_its_own_proxies_is_not_cached(proxied):
    session = make_session(2)
    own = session.merge_environment_settings("http://api.invalid/", {"http": "http://mine:1"},
                                             True, None, None)
    assert own["proxies"]["http"] == "http://mine:1"
    assert settings(session, "http://api.invalid/")["proxies"]["http"] == PROXY
