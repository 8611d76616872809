"""The envelope every message on every topic carries (docs/contract.md §2)."""

from __future__ import annotations

from typing import Any

from pydantic import StrictInt

from shared.contract.base import ContractModel, Text, Timestamp, UuidText


class Envelope(ContractModel):
    """`payload` stays the raw JSON object as received.

    Signatures are computed over the sender's payload, including members this version of
    the models does not know, so verification must use `payload`, never a re-dump of the
    parsed model.
    """

    event_id: UuidText
    event_type: Text
    schema_version: StrictInt
    occurred_at: Timestamp
    source: Text
    payload: dict[str, Any]
