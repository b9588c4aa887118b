"""Who may reach ``jobfleet flower``, and how its options are read."""

import pytest

from monitor.access import is_loopback, refusal, split_value_options

TYPES = {"port": int, "address": str, "debug": bool, "basic_auth": str}


@pytest.mark.parametrize("address, loopback", [
    ("127.0.0.1", True), ("127.8.9.1", True), ("::1", True), ("[::1]", True),
    ("localhost", True), ("0.0.0.0", False), ("", False), ("10.0.0.5", False),
    ("example.internal", False), ("::", False),
])
def test_only_loopback_addresses_count_as_private(address, loopback):
    assert is_loopback(address) is loopback


def test_a_public_address_needs_a_login():
    assert "refusing to serve Flower on 0.0.0.0 without a login" in refusal("0.0.0.0", "", False,
                                                                          False)
    assert refusal("", "", False, False).startswith("refusing to serve Flower on every interface")
    assert refusal("0.0.0.0", "", True, False) is None  # basic auth
    assert refusal("0.0.0.0", "", False, True) is None  # OAuth
    assert refusal("127.0.0.1", "", False, False) is None
    assert refusal("", "/run/flower.sock", False, False) is None  # a unix socket is local


def test_options_with_a_space_become_flowers_form():
    assert split_value_options(["--address", "0.0.0.0", "--port=5555", "--debug"], TYPES) == \
        ["--address=0.0.0.0", "--port=5555", "--debug"]
    assert split_value_options(["--basic-auth", "a:b"], TYPES) == ["--basic-auth=a:b"]


@pytest.mark.parametrize("argv, message", [
    (["--nope=1"], "unknown Flower option --nope"),
    (["--port"], "option --port needs a value"),
    (["--port", "--debug"], "option --port needs a value"),
    (["--port=x"], "option --port needs a number, got 'x'"),
    (["5555"], "unexpected argument '5555'"),
])
def test_bad_options_are_named(argv, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        split_value_options(argv, TYPES)
