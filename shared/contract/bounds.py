"""The documented bound of every field of the payloads in (docs/contract.md, "Limits").

A payload that breaks one is `rejected` with `MALFORMED` naming the field. The bounds keep
every accepted value storable (a PostgreSQL index row holds at most 2,704 bytes, a BIGINT
at most 2^63 − 1) and signable (RFC 8785 writes numbers as IEEE doubles, exact only up to
2^53), whatever a sender puts in a message of up to 1 MiB.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

MAX_ID_CHARS: Final = 64
"""`dossier_id`, `allocation_id` and the ids that name other dossiers."""
MAX_CODE_CHARS: Final = 32
"""Codes: unit, treasury, chapter, sector, source, economic item, bank, tax; `voucher_no`."""
MAX_NUMBER_CHARS: Final = 64
"""Account numbers, contract numbers, identity document numbers."""
MAX_NAME_CHARS: Final = 500
"""Names, titles, addresses, counterparties, attachment names."""
MAX_DESCRIPTION_CHARS: Final = 2000
"""The description of a voucher line."""
MAX_SUPPORT_TEXT_CHARS: Final = 20_000
"""The body of a support request, and an officer's reply to one."""
MAX_EMAIL_CHARS: Final = 320
"""An e-mail address (RFC 5321: 64 for the local part, 255 for the domain)."""
MAX_CERTIFICATE_CHARS: Final = 16_384
"""A PEM certificate (an RSA 4096 certificate with extensions is about 2,500)."""
MAX_SIGNATURE_CHARS: Final = 2048
"""A base64url signature value (RSA 8192 gives 1,366) or a certificate serial."""
MAX_DIGEST_CHARS: Final = 128
"""An attachment's `sha256` (64 hex digits)."""

MAX_AMOUNT_VND: Final = 10**15
"""Ceiling of every amount, in VND: a million billion dong, about 40% of a whole year's state
budget, so no genuine voucher, allocation or contract comes near it. It keeps sums of up to
`MAX_LINES` amounts far inside BIGINT, and every amount exact in RFC 8785 JSON (< 2^53)."""
MIN_FISCAL_YEAR: Final = 1000
MAX_FISCAL_YEAR: Final = 9999
MAX_BUDGET_LEVEL: Final = 9
MAX_ATTACHMENT_BYTES: Final = 10 * 1024**3
"""The declared `size` of an attachment (the document itself is referenced, not embedded)."""

MAX_LINES: Final = 500
MAX_ATTACHMENTS: Final = 100
MAX_SIGNATURES: Final = 8
MAX_ACCOUNTS: Final = 20
MAX_SIGNERS: Final = 20
MAX_NOTIFY_EMAILS: Final = 20

MAX_NESTING_DEPTH: Final = 10
"""Objects and arrays nested inside the payload, unknown members included; the contract's
own members need three (`lines[0].amount`)."""
MAX_JSON_INTEGER: Final = 2**53 - 1
"""Any integer anywhere in the payload, unknown members included, lies within ±(2^53 − 1):
beyond, RFC 8785 (what is signed) cannot write it exactly."""
MAX_REPORTED_PROBLEMS: Final = 20
NUL: Final = "\x00"
"""A rejection names at most this many fields (then says how many more there were)."""


def structure_problems(payload: Any) -> list[tuple[tuple[int | str, ...], str]]:
    """(location, message) for each place the payload nests too deep, holds an integer
    outside ±(2^53 − 1), or a U+0000 character (PostgreSQL cannot store it in text).
    Iterative, so no depth a parser allows can exhaust the stack."""
    problems: list[tuple[tuple[int | str, ...], str]] = []
    for loc, value in _walk(payload):
        if loc and isinstance(loc[-1], str) and NUL in loc[-1]:
            problems.append((loc, "a member name contains U+0000, which cannot be stored"))
        if len(loc) > MAX_NESTING_DEPTH and isinstance(value, dict | list):
            problems.append((loc, f"nested deeper than {MAX_NESTING_DEPTH} levels"))
        elif isinstance(value, str) and NUL in value:
            problems.append((loc, "contains U+0000, which cannot be stored"))
        elif (
            isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_JSON_INTEGER
        ):
            problems.append((loc, "integer outside ±(2^53 − 1)"))
    return problems


def _walk(payload: Any) -> Iterator[tuple[tuple[int | str, ...], Any]]:
    """Every value with its location, not descending below `MAX_NESTING_DEPTH + 1`."""
    stack: list[tuple[tuple[int | str, ...], Any]] = [((), payload)]
    while stack:
        loc, value = stack.pop()
        yield loc, value
        if len(loc) > MAX_NESTING_DEPTH:
            continue
        if isinstance(value, dict):
            stack.extend(((*loc, str(k)), v) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend(((*loc, i), v) for i, v in reversed(list(enumerate(value))))


def pruned(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload with what nests deeper than `MAX_NESTING_DEPTH` replaced by null and U+0000
    by U+FFFD, so that a refused payload can still be stored and shown."""

    def prune(value: Any, depth: int) -> Any:
        if isinstance(value, dict | list) and depth > MAX_NESTING_DEPTH:
            return None
        if isinstance(value, dict):
            return {storable(k): prune(v, depth + 1) for k, v in value.items()}
        if isinstance(value, list):
            return [prune(v, depth + 1) for v in value]
        if isinstance(value, str):
            return storable(value)
        return value

    result: dict[str, Any] = prune(payload, 0)
    return result


def storable(text: str) -> str:
    """`text` with U+0000 (which PostgreSQL refuses in text) replaced by U+FFFD."""
    return text.replace(NUL, "\ufffd")


def readable_id(value: Any) -> str | None:
    """A dossier id that can be recorded: a non-empty string of at most `MAX_ID_CHARS`."""
    if isinstance(value, str) and 0 < len(value) <= MAX_ID_CHARS and NUL not in value:
        return value
    return None


def unreadable_id(name: str, value: Any) -> str:
    """Why `value` cannot be recorded as the id `name` (for a dead letter's `error`)."""
    if value is None:
        return f"no {name}"
    if not isinstance(value, str):
        return f"{name} is a JSON {type(value).__name__}, not a string"
    if not value:
        return f"{name} is empty"
    if NUL in value:
        return f"{name} contains U+0000"
    return f"{name} of {len(value)} characters is longer than the {MAX_ID_CHARS} allowed"


def readable_code(value: Any) -> str:
    """A code within its bound, or "" when it is missing, not a string, too long, or holds
    U+0000."""
    if isinstance(value, str) and len(value) <= MAX_CODE_CHARS and NUL not in value:
        return value
    return ""
