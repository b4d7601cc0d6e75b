"""Document bytes at rest: one encrypted file per distinct content, under <data-dir>/documents/.

A file is named by the SHA-256 of its plaintext (so the same scan uploaded twice is kept
once) and holds AES-256-GCM ciphertext:

    b"CLD1" | key id (8 bytes) | nonce (12 bytes) | ciphertext + tag

The key id (first 8 bytes of SHA-256 of the key) lets a wrong key be told apart from a
damaged file; the content hash is the associated data, so a file renamed onto another
document's name fails to decrypt instead of serving the wrong person's papers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"CLD1"
KEY_BYTES = 32
NONCE_BYTES = 12
_HEADER = len(MAGIC) + 8 + NONCE_BYTES
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class DocumentKeyError(ValueError):
    """The document key is missing, malformed or not the one the files were written with."""


class DocumentMissing(LookupError):
    """No stored file for a content hash (deleted, or the data folder was not restored)."""


def parse_key(encoded: str) -> bytes:
    """A 32-byte key from its base64 text (standard or URL-safe alphabet), or DocumentKeyError."""
    text = encoded.strip()
    try:
        raw = base64.b64decode(text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise DocumentKeyError("CONSULINK_DOCUMENT_KEY is not valid base64") from None
    if len(raw) != KEY_BYTES:
        raise DocumentKeyError(
            f"CONSULINK_DOCUMENT_KEY must decode to {KEY_BYTES} bytes, not {len(raw)}; "
            "see 'Document key' in docs/operators.md for how to make one"
        )
    return raw


def load_or_create_key(configured: str | None, data_dir: Path) -> bytes:
    """The configured key, else the one in <data-dir>/document.key, made (mode 0600) if absent."""
    if configured:
        return parse_key(configured)
    path = data_dir / "document.key"
    if not path.exists():
        # O_EXCL: two servers starting at once cannot each write a different key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode() + "\n")
    return parse_key(path.read_text())


def key_id(key: bytes) -> bytes:
    """A short public fingerprint of the key, written into each file."""
    return hashlib.sha256(key).digest()[:8]


def content_hash(data: bytes) -> str:
    """The name a plaintext is stored under."""
    return hashlib.sha256(data).hexdigest()


class DocumentStore:
    """Encrypted, content-addressed files under one folder."""

    def __init__(self, root: Path, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise DocumentKeyError(f"the document key must be {KEY_BYTES} bytes")
        self.root = root
        self._aead = AESGCM(key)
        self._key_id = key_id(key)

    def path_for(self, digest: str) -> Path:
        """Where the file for `digest` lives (two-level fan-out keeps folders small)."""
        if not _HEX64.match(digest):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / digest[:2] / digest

    def put(self, plaintext: bytes) -> str:
        """Store `plaintext` encrypted; returns its SHA-256. Idempotent for equal content."""
        digest = content_hash(plaintext)
        path = self.path_for(digest)
        if path.exists():
            return digest
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext, digest.encode())
        # Write aside and rename, so a crash never leaves a half file under the real name.
        temporary = path.with_name(f".{digest}.{secrets.token_hex(4)}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(MAGIC + self._key_id + nonce + sealed)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
        return digest

    def get(self, digest: str) -> bytes:
        """The plaintext stored under `digest`; raises DocumentMissing or DocumentKeyError."""
        path = self.path_for(digest)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            raise DocumentMissing(digest) from None
        if blob[: len(MAGIC)] != MAGIC or len(blob) < _HEADER + 16:
            raise DocumentKeyError(
                f"stored document {digest[:12]}… is not a consulink document file"
            )
        if blob[len(MAGIC) : len(MAGIC) + 8] != self._key_id:
            raise DocumentKeyError(
                f"stored document {digest[:12]}… was encrypted with another document key"
            )
        nonce = blob[len(MAGIC) + 8 : _HEADER]
        try:
            plaintext = self._aead.decrypt(nonce, blob[_HEADER:], digest.encode())
        except InvalidTag:
            raise DocumentKeyError(
                f"stored document {digest[:12]}… is damaged or was tampered with"
            ) from None
        return plaintext

    def exists(self, digest: str) -> bool:
        """True when a file for `digest` is stored."""
        return self.path_for(digest).exists()
