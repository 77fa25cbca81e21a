"""Sealing stored secrets: AES-256-GCM (authenticated) with a key derived from HESABU_SECRET_KEY by HKDF-SHA256.

A sealed value is `v1.<nonce+ciphertext, urlsafe base64>`; the row keeps the fingerprint (`key_id`) of the key
that sealed it, and the associated data binds the ciphertext to its row (business and shortcode), so a sealed
value copied onto another row does not open. Old keys stay usable for reading (`Keyring(current, previous)`,
HESABU_PREVIOUS_SECRET_KEYS) until `hesabu secrets rotate` has re-sealed every row under the current key.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_INFO = b"hesabu stored credentials v1"
_PREFIX = "v1."


class SealError(Exception):
    """A sealed value that no known key opens (wrong key, tampered, or moved to another row)."""


@dataclass(frozen=True, slots=True)
class _Key:
    key_id: str
    aead: AESGCM


def _derive(secret: str) -> _Key:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret.encode())
    return _Key(hashlib.sha256(b"key-id:" + raw).hexdigest()[:16], AESGCM(raw))


class Keyring:
    """The current key (seals) and previous keys (only open)."""

    def __init__(self, current: str, previous: tuple[str, ...] = ()) -> None:
        if not current:
            raise ValueError("a sealing key needs a secret")
        self._current = _derive(current)
        self._all = {k.key_id: k for k in (self._current, *(_derive(p) for p in previous if p))}

    @property
    def current_id(self) -> str:
        return self._current.key_id

    def seal(self, plaintext: bytes, context: str) -> tuple[str, str]:
        """(key_id, sealed text) under the current key."""
        nonce = os.urandom(12)
        box = self._current.aead.encrypt(nonce, plaintext, context.encode())
        return self._current.key_id, _PREFIX + base64.urlsafe_b64encode(nonce + box).decode()

    def open(self, key_id: str, sealed: str, context: str) -> bytes:
        key = self._all.get(key_id)
        if key is None:
            raise SealError("sealed with a key this process does not have (set HESABU_PREVIOUS_SECRET_KEYS)")
        if not sealed.startswith(_PREFIX):
            raise SealError("not a sealed value")
        try:
            blob = base64.urlsafe_b64decode(sealed[len(_PREFIX):])
            return key.aead.decrypt(blob[:12], blob[12:], context.encode())
        except (InvalidTag, ValueError):
            raise SealError("the sealed value does not open: tampered, or not this row's") from None
