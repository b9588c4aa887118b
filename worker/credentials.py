"""What the fleet may keep in Redis about a platform credential: a fingerprint and sealed data.

Redis is shared by every worker and often readable by more people than the credentials are,
so nothing kept there may stand in for a credential:

* :func:`fingerprint` names a credential in keys (refusal memos, rate buckets, shared
  tokens). It covers every part of the credential (for OpenProtein: backend, username *and*
  password), so a wrong password never shares a right one's token or memo. It is derived
  with PBKDF2, so a key name is no cheap way to test guesses of a password.
* :class:`Sealer` encrypts what we must share (an access token) with AES-GCM under a key
  derived from the same credential: a worker configured with the credential can read it,
  a reader of Redis alone cannot, and a record sealed for one credential does not open for
  another. The Redis key is bound in as associated data, so a record moved under another
  key does not open either.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Mapping
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr
from pydantic_settings import BaseSettings

KDF_ITERATIONS = 200_000  # ~0.1 s once per process and credential; costly to brute-force
FINGERPRINT_HEX = 24  # 96 bits: no collisions among the credentials of one fleet
NONCE_BYTES = 12  # AES-GCM's standard nonce, random per seal


def credential_parts(settings: BaseSettings | Mapping[str, object]) -> tuple[tuple[str, str], ...]:
    """Every field of a platform's settings, secrets revealed, in a stable order."""
    fields = settings if isinstance(settings, Mapping) else settings.model_dump()
    return tuple(
        (name, value.get_secret_value() if isinstance(value, SecretStr) else str(value))
        for name, value in sorted(fields.items())
    )


@lru_cache(maxsize=32)
def _master(platform: str, parts: tuple[tuple[str, str], ...]) -> bytes:
    """The slow derivation both the fingerprint and the sealing key come from."""
    material = "\0".join(f"{name}={value}" for name, value in parts).encode()
    return hashlib.pbkdf2_hmac("sha256", material, f"jobfleet:{platform}".encode(),
                               KDF_ITERATIONS)


def _derive(platform: str, settings: BaseSettings | Mapping[str, object], label: bytes) -> bytes:
    return hmac.new(_master(platform, credential_parts(settings)), label, "sha256").digest()


def fingerprint(platform: str, settings: BaseSettings | Mapping[str, object]) -> str:
    """A stable, non-reversible name for the credential in ``settings``: ``platform:hex``."""
    return f"{platform}:{_derive(platform, settings, b'fingerprint').hex()[:FINGERPRINT_HEX]}"


class Sealer:
    """Seals and opens small records for one credential (AES-256-GCM)."""

    def __init__(self, platform: str, settings: BaseSettings | Mapping[str, object]) -> None:
        self._aead = AESGCM(_derive(platform, settings, b"seal"))

    def seal(self, data: bytes, where: str) -> str:
        """``data`` encrypted and authenticated, bound to the Redis key ``where`` (as text:
        the fleet's Redis clients decode every answer)."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = nonce + self._aead.encrypt(nonce, data, where.encode())
        return base64.urlsafe_b64encode(sealed).decode()

    def open(self, text: str, where: str) -> bytes | None:
        """The data back, or None when it was sealed for another credential, another key, or
        tampered with (the caller treats it as absent)."""
        try:
            sealed = base64.urlsafe_b64decode(text.encode())
        except (binascii.Error, ValueError):
            return None
        if len(sealed) <= NONCE_BYTES:
            return None
        try:
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], where.encode())
        except InvalidTag:
            return None
