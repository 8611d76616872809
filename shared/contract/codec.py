"""Decoding messages at the consumer edge and encoding them for producers.

Errors raised here form one tree::

    ContractError                          anything this module refuses
    ├── MalformedMessageError              not JSON, too large, or no envelope: dead-letter (§2)
    └── PayloadRejectedError               an envelope whose payload is refused: `rejected`
        ├── SchemaVersionUnsupportedError  reason SCHEMA_VERSION_UNSUPPORTED
        ├── UnexpectedEventTypeError       reason MALFORMED (unknown, or not the topic's type)
        └── MalformedPayloadError          reason MALFORMED; `errors` are pydantic's details

`PayloadRejectedError.reason` is the reason code to report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeVar, overload

import orjson
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from shared.contract.bounds import structure_problems
from shared.contract.enums import EventType
from shared.contract.envelope import Envelope
from shared.contract.payloads import (
    AllocationRecorded,
    CapitalPlanRecorded,
    InvestmentSubmitted,
    Payload,
    RegistrationSubmitted,
    StatusChanged,
    SupportRequested,
    VoucherSubmitted,
)
from shared.contract.reasons import ReasonCode

MAX_MESSAGE_BYTES: Final = 1024 * 1024
SUPPORTED_SCHEMA_VERSIONS: Final = frozenset({1})
CURRENT_SCHEMA_VERSION: Final = 1
EVENT_TYPES: Final[Mapping[str, type[Payload]]] = {
    EventType.REGISTRATION_SUBMITTED: RegistrationSubmitted,
    EventType.ALLOCATION_RECORDED: AllocationRecorded,
    EventType.VOUCHER_SUBMITTED: VoucherSubmitted,
    EventType.STATUS_CHANGED: StatusChanged,
    EventType.CAPITAL_PLAN_RECORDED: CapitalPlanRecorded,
    EventType.INVESTMENT_SUBMITTED: InvestmentSubmitted,
    EventType.SUPPORT_REQUESTED: SupportRequested,
}

P = TypeVar(
    "P",
    RegistrationSubmitted,
    AllocationRecorded,
    VoucherSubmitted,
    StatusChanged,
    CapitalPlanRecorded,
    InvestmentSubmitted,
    SupportRequested,
)


class ContractError(Exception):
    """Base of the errors raised when a message does not meet the contract."""


class MalformedMessageError(ContractError):
    """Not JSON, larger than 1 MiB, or not an envelope; goes to the dead-letter topic."""

    def __init__(self, detail: str, *, errors: Sequence[ErrorDetails] = ()) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors: tuple[ErrorDetails, ...] = tuple(errors)


class PayloadRejectedError(ContractError):
    """A well-formed envelope whose payload cannot be accepted."""

    reason: ReasonCode = ReasonCode.MALFORMED

    def __init__(self, detail: str, *, envelope: Envelope) -> None:
        super().__init__(detail)
        self.detail = detail
        self.envelope = envelope


class SchemaVersionUnsupportedError(PayloadRejectedError):
    reason = ReasonCode.SCHEMA_VERSION_UNSUPPORTED


class UnexpectedEventTypeError(PayloadRejectedError):
    """The event type is unknown, or is not the one expected on this topic."""


class MalformedPayloadError(PayloadRejectedError):
    """The payload does not have the shape of its event type."""

    def __init__(self, detail: str, *, envelope: Envelope, errors: Sequence[ErrorDetails]) -> None:
        super().__init__(detail, envelope=envelope)
        self.errors: tuple[ErrorDetails, ...] = tuple(errors)

    def problems(self) -> list[tuple[str, str]]:
        """(field path like `lines[0].amount`, pydantic's message) for each error."""
        return [(field_path(e["loc"]), e["msg"]) for e in self.errors]


def field_path(loc: Sequence[int | str]) -> str:
    """Render a pydantic location as the contract writes fields: `lines[0].amount`."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    return path


def decode_envelope(raw: bytes | bytearray | memoryview | str | None) -> Envelope:
    """Parse the envelope of a Kafka value; raise `MalformedMessageError` if there is none."""
    if raw is None:
        raise MalformedMessageError("no value")
    size = len(raw.encode()) if isinstance(raw, str) else len(raw)
    if size > MAX_MESSAGE_BYTES:
        raise MalformedMessageError(f"value of {size} bytes exceeds {MAX_MESSAGE_BYTES}")
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise MalformedMessageError(f"not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise MalformedMessageError(f"not an envelope: a JSON {type(document).__name__}")
    try:
        return Envelope.model_validate(document)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        summary = "; ".join(f"{field_path(e['loc'])}: {e['msg']}" for e in errors)
        raise MalformedMessageError(f"not an envelope: {summary}", errors=errors) from exc


@overload
def parse_payload(envelope: Envelope) -> Payload: ...
@overload
def parse_payload(envelope: Envelope, expected: type[P]) -> P: ...
def parse_payload(envelope: Envelope, expected: type[P] | None = None) -> Payload:
    """Validate the payload against the model of its event type (or of `expected`)."""
    if envelope.schema_version not in SUPPORTED_SCHEMA_VERSIONS:
        raise SchemaVersionUnsupportedError(
            f"schema_version {envelope.schema_version} is not one of "
            f"{sorted(SUPPORTED_SCHEMA_VERSIONS)}",
            envelope=envelope,
        )
    model = EVENT_TYPES.get(envelope.event_type)
    if model is None:
        raise UnexpectedEventTypeError(
            f"unknown event_type {envelope.event_type!r}", envelope=envelope
        )
    if expected is not None and model is not expected:
        raise UnexpectedEventTypeError(
            f"event_type {envelope.event_type!r} where {expected.EVENT_TYPE.value!r} was expected",
            envelope=envelope,
        )
    nesting = structure_problems(envelope.payload)
    if nesting:
        errors = [
            ErrorDetails(type="value_error", loc=loc, msg=msg, input=None) for loc, msg in nesting
        ]
        summary = "; ".join(f"{field_path(e['loc'])}: {e['msg']}" for e in errors)
        raise MalformedPayloadError(
            f"{envelope.event_type} payload: {summary}", envelope=envelope, errors=errors
        )
    try:
        return model.model_validate(envelope.payload)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        summary = "; ".join(f"{field_path(e['loc'])}: {e['msg']}" for e in errors)
        raise MalformedPayloadError(
            f"{envelope.event_type} payload: {summary}", envelope=envelope, errors=errors
        ) from exc


def make_envelope(
    payload: Payload | Mapping[str, Any],
    *,
    event_id: str,
    occurred_at: dt.datetime,
    source: str,
    event_type: str | None = None,
    schema_version: int = CURRENT_SCHEMA_VERSION,
) -> Envelope:
    """Wrap a payload; a raw mapping (e.g. one already signed) needs its `event_type`."""
    if isinstance(payload, BaseModel):
        body = to_json_dict(payload)
        event_type = event_type or payload.EVENT_TYPE.value
    else:
        if event_type is None:
            raise ValueError("event_type is required when the payload is a mapping")
        body = dict(payload)
    return Envelope(
        event_id=event_id,
        event_type=event_type,
        schema_version=schema_version,
        occurred_at=occurred_at,
        source=source,
        payload=body,
    )


def to_json_dict(model: BaseModel) -> dict[str, Any]:
    """The JSON-ready form of a model; nulls are kept, so it parses back equal."""
    return model.model_dump(mode="json", exclude_none=False)


def encode(model: BaseModel) -> bytes:
    """UTF-8 JSON bytes of an envelope or payload, ready to produce."""
    return orjson.dumps(to_json_dict(model))
