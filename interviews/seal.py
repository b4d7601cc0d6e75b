"""Seals on exported summaries: SHA-256 digests signed with the server's Ed25519 key.

A seal says "this server exported exactly this summary, with recording files that had
exactly these digests". It holds the SHA-256 of the summary's canonical JSON, the SHA-256
and size of every recording file the summary names, the server's public key and an
Ed25519 signature over all of that (the seal's own canonical JSON without the signature).
Anyone with the server's public key (published at /api/records/public-key) can check a
seal offline with `consulink records verify`; see docs/records.md.

The private key is generated on first use (mode 0600) and never leaves the server.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SEAL_FORMAT = "consulink-seal/1"
ALGORITHM = "Ed25519"
CHUNK = 1 << 20  # hashing reads 1 MiB at a time: memory stays flat for any file size


def canonical_bytes(value: Any) -> bytes:
    """The one byte form of a JSON value (the summaries' canonical JSON, for any value)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of some bytes."""
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> tuple[str, int]:
    """Hex SHA-256 and size of a file, read in chunks (bounded memory)."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short name for a public key: the first 16 hex digits of SHA-256 of its raw bytes."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return sha256_hex(raw)[:16]


def public_key_b64(public_key: Ed25519PublicKey) -> str:
    """The raw 32-byte public key in base64, as seals carry it."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return _b64(raw)


def public_key_pem(public_key: Ed25519PublicKey) -> str:
    """The public key as PEM (SubjectPublicKeyInfo), as the API publishes it."""
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def load_public_key(data: bytes) -> Ed25519PublicKey:
    """A public key from PEM, or from the raw key in base64 (as seals and the API give it)."""
    text = data.strip()
    if text.startswith(b"-----BEGIN"):
        key = serialization.load_pem_public_key(text)
    else:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def load_or_create_signing_key(path: Path) -> Ed25519PrivateKey:
    """The server's signing key, made on first use: PEM (PKCS#8), file mode 0600.

    Created with O_EXCL so two processes starting together cannot write different keys:
    the loser reads the winner's.
    """
    try:
        return read_signing_key(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read_signing_key(path)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return key


def read_signing_key(path: Path) -> Ed25519PrivateKey:
    """An existing signing key (FileNotFoundError when there is none)."""
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def recording_file(base: Path, path: str) -> Path | None:
    """Where a recording the summary names lies under `base`, or None if it is not there.

    Summaries name recordings relative to the data folder's recordings/ (or to the data
    folder itself); `base` may be either, so both are tried. A path that would leave
    `base` (absolute, or with '..') is never followed: a tampered export must not make
    verification read other files.
    """
    relative = PurePosixPath(path)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        return None
    for candidate in (base / relative, base / "recordings" / relative):
        if candidate.is_file():
            return candidate
    return None


def recording_paths(document: Mapping[str, Any]) -> list[str]:
    """The paths of the recording files a summary document names, in document order."""
    return [str(r["path"]) for r in document.get("recordings") or [] if r.get("path")]


def digest_recordings(base: Path, paths: Iterable[str]) -> list[dict[str, Any]]:
    """SHA-256 and size of each recording file (null both when the file is absent)."""
    entries: list[dict[str, Any]] = []
    for path in paths:
        found = recording_file(base, path)
        if found is None:
            entries.append({"path": path, "sha256": None, "bytes": None})
        else:
            digest, size = file_sha256(found)
            entries.append({"path": path, "sha256": digest, "bytes": size})
    return entries


def signed_part(seal: Mapping[str, Any]) -> bytes:
    """The bytes a seal's signature covers: its canonical JSON without the signature."""
    return canonical_bytes({k: v for k, v in seal.items() if k != "signature"})


def seal_digest(seal: Mapping[str, Any]) -> str:
    """One SHA-256 naming everything sealed (summary and recordings): printed on exports."""
    return sha256_hex(signed_part(seal))


def make_seal(
    summary: bytes,
    recordings: Sequence[Mapping[str, Any]],
    key: Ed25519PrivateKey,
    *,
    sealed_at: str,
) -> dict[str, Any]:
    """A signed seal over a summary's canonical bytes and its recordings' digests."""
    public = key.public_key()
    seal: dict[str, Any] = {
        "format": SEAL_FORMAT,
        "algorithm": ALGORITHM,
        "key_id": key_id(public),
        "public_key": public_key_b64(public),
        "sealed_at": sealed_at,
        "summary_sha256": sha256_hex(summary),
        "recordings": [dict(r) for r in recordings],
    }
    seal["sha256"] = sha256_hex(
        canonical_bytes({"summary": seal["summary_sha256"], "recordings": seal["recordings"]})
    )
    seal["signature"] = _b64(key.sign(signed_part(seal)))
    return seal


def sign_export(
    seal: Mapping[str, Any],
    fmt: str,
    content_sha256: str,
    key: Ed25519PrivateKey,
    *,
    layout_sha256: str | None = None,
) -> dict[str, Any]:
    """A signature over an export's own content (all but its embedded record), bound to
    the seal: it catches an edit to the printed or displayed text, which the seal over
    the summary alone would not. A PDF's also covers its pages' layout (pdf_seal)."""
    public = key.public_key()
    export: dict[str, Any] = {
        "format": fmt,
        "content_sha256": content_sha256,
        **({"layout_sha256": layout_sha256} if layout_sha256 is not None else {}),
        "seal_signature": seal["signature"],
        "key_id": key_id(public),
        "public_key": public_key_b64(public),
    }
    export["signature"] = _b64(key.sign(signed_part(export)))
    return export


@dataclass(frozen=True)
class SignatureCheck:
    """Whether a seal's signature holds, and whether its key is one we trust."""

    valid: bool
    known_key: bool
    key_id: str


def check_signature(seal: Mapping[str, Any], trusted: Sequence[Ed25519PublicKey]) -> SignatureCheck:
    """Check a seal's (or export's) signature with the trusted key of its key id, else with
    the key it carries.

    With its own key a valid signature still only shows the seal is intact, not who made
    it: `known_key` is false then, and verification fails naming the unknown key.
    """
    by_id = {key_id(k): k for k in trusted}
    claimed = str(seal.get("key_id", ""))
    key = by_id.get(claimed)
    known = key is not None
    if key is None:
        try:
            key = load_public_key(str(seal.get("public_key", "")).encode())
        except ValueError:
            return SignatureCheck(valid=False, known_key=False, key_id=claimed)
    # A seal claiming a trusted id must also carry that key: a mismatch is tampering.
    if known and str(seal.get("public_key", "")) != public_key_b64(key):
        return SignatureCheck(valid=False, known_key=True, key_id=claimed)
    try:
        signature = base64.b64decode(str(seal.get("signature", "")), validate=True)
        key.verify(signature, signed_part(seal))
    except (InvalidSignature, ValueError):
        return SignatureCheck(valid=False, known_key=known, key_id=claimed)
    return SignatureCheck(valid=True, known_key=known, key_id=claimed)
