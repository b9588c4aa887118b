"""Credential fingerprints and sealed records: what Redis may hold about a credential."""

from __future__ import annotations

import base64

from pydantic import SecretStr

from worker.credentials import Sealer, fingerprint
from worker.providers.openprotein.settings import OpenProteinSettings


def op(password: str, username: str = "alice", backend: str = "http://h/api/"):
    return OpenProteinSettings(api_backend=backend, username=username,
                               password=SecretStr(password))


def test_the_fingerprint_covers_every_part_of_the_credential():
    right = fingerprint("openprotein", op("right"))
    assert right == fingerprint("openprotein", op("right"))
    assert right.startswith("openprotein:") and len(right) == len("openprotein:") + 24
    assert right != fingerprint("openprotein", op("wrong"))
    assert right != fingerprint("openprotein", op("right", username="bob"))
    assert right != fingerprint("openprotein", op("right", backend="http://other/api/"))
    assert right != fingerprint("moderately", op("right"))


def test_the_fingerprint_shows_no_part_of_the_secret():
    secret = "correct-horse-battery-staple"
    assert secret not in fingerprint("openprotein", op(secret))


def test_a_sealed_record_opens_only_for_the_same_credential_and_key():
    sealer = Sealer("openprotein", op("right"))
    sealed = sealer.seal(b'{"access_token": "tok-123"}', "jf:token:openprotein:x")
    assert "tok-123" not in sealed
    assert sealer.open(sealed, "jf:token:openprotein:x") == b'{"access_token": "tok-123"}'
    assert Sealer("openprotein", op("right")).open(sealed, "jf:token:openprotein:x") is not None
    assert Sealer("openprotein", op("wrong")).open(sealed, "jf:token:openprotein:x") is None
    assert sealer.open(sealed, "jf:token:openprotein:y") is None


def test_a_tampered_or_foreign_record_is_taken_as_absent():
    sealer = Sealer("openprotein", op("right"))
    sealed = sealer.seal(b"data", "k")
    raw = bytearray(base64.urlsafe_b64decode(sealed))
    raw[-1] ^= 0x01  # one bit of the tag: a change in base64 padding bits would not show
    assert sealer.open(base64.urlsafe_b64encode(bytes(raw)).decode(), "k") is None
    assert sealer.open('{"access_token": "plain"}', "k") is None
    assert sealer.open("", "k") is None
