"""What is signed: RFC 8785 (JCS) canonical JSON of a payload without `signatures`."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Final

import rfc8785

SIGNATURES_MEMBER: Final = "signatures"


def canonical_json(value: Any) -> bytes:
    """RFC 8785 canonical UTF-8 bytes; raises `ValueError` for values JCS cannot express."""
    encoded: bytes = rfc8785.dumps(value)
    return encoded


def signing_input(payload: Mapping[str, Any]) -> bytes:
    """The bytes every signature of a payload covers (docs/contract.md §3.3, Signatures).

    Only the top-level `signatures` member is removed; members the models do not know are
    kept, because the signer signed them.
    """
    return canonical_json({k: v for k, v in payload.items() if k != SIGNATURES_MEMBER})


def content_digest(payload: Mapping[str, Any]) -> str:
    """SHA-256 of what is signed: the same content re-signed (ECDSA differs each time) has
    the same digest, which is how a resubmission is told from a modified one."""
    return hashlib.sha256(signing_input(payload)).hexdigest()
