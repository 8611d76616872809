"""Building blocks shared by the contract models: the base config and strict scalar types.

The models are strict about JSON types (an amount is a JSON integer, never "12500000" or
12500000.0; a date is "YYYY-MM-DD") but permissive about business rules: code formats,
totals and required-by-rule members are the services' to judge and report as reason codes.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    StringConstraints,
)

from shared.contract import bounds

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


class ContractModel(BaseModel):
    """Frozen; unknown members are ignored, as the contract promises senders (§2)."""

    model_config = ConfigDict(extra="ignore", frozen=True)


def _require_iso_date(value: Any) -> Any:
    # pydantic's lax date parsing also takes Unix timestamps and midnight datetimes;
    # the contract says ISO 8601 dates, so anything else is malformed.
    if isinstance(value, dt.datetime):
        raise ValueError("expected a date, not a datetime")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    raise ValueError("expected an ISO 8601 date YYYY-MM-DD")


def _require_timestamp_text(value: Any) -> Any:
    # Refuses numbers, which pydantic would otherwise read as Unix timestamps.
    if isinstance(value, dt.datetime | str):
        return value
    raise ValueError("expected an RFC 3339 timestamp with offset")


def _require_uuid_text(value: str) -> str:
    if not _UUID.fullmatch(value):
        raise ValueError("expected a UUID in 8-4-4-4-12 form")
    # Lower-cased so that idempotency on event_id does not depend on the sender's casing.
    return value.lower()


Text = StrictStr
"""A string without a bound of its own: for what the services write, not what they read."""


# Strings of at most so many characters (see `shared.contract.bounds`).
DossierId = Annotated[StrictStr, StringConstraints(max_length=bounds.MAX_ID_CHARS)]
Code = Annotated[StrictStr, StringConstraints(max_length=bounds.MAX_CODE_CHARS)]
Number = Annotated[StrictStr, StringConstraints(max_length=bounds.MAX_NUMBER_CHARS)]
Name = Annotated[StrictStr, StringConstraints(max_length=bounds.MAX_NAME_CHARS)]
Description = Annotated[StrictStr, StringConstraints(max_length=bounds.MAX_DESCRIPTION_CHARS)]
SupportText = Annotated[
    StrictStr, StringConstraints(min_length=1, max_length=bounds.MAX_SUPPORT_TEXT_CHARS)
]
"""The body of a support request: never empty."""
Subject = Annotated[StrictStr, StringConstraints(min_length=1, max_length=bounds.MAX_NAME_CHARS)]
Email = Annotated[StrictStr, StringConstraints(max_length=bounds.MAX_EMAIL_CHARS)]
CertificatePem = Annotated[StrictStr, StringConstraints(max_length=bounds.MAX_CERTIFICATE_CHARS)]
SignatureText = Annotated[StrictStr, StringConstraints(max_length=bounds.MAX_SIGNATURE_CHARS)]
Digest = Annotated[StrictStr, StringConstraints(max_length=bounds.MAX_DIGEST_CHARS)]
Amount = Annotated[StrictInt, Field(ge=-bounds.MAX_AMOUNT_VND, le=bounds.MAX_AMOUNT_VND)]
"""An integer amount in VND within ±`MAX_AMOUNT_VND`; the sign is a business rule."""
FiscalYear = Annotated[StrictInt, Field(ge=bounds.MIN_FISCAL_YEAR, le=bounds.MAX_FISCAL_YEAR)]
IsoDate = Annotated[dt.date, BeforeValidator(_require_iso_date)]
Timestamp = Annotated[AwareDatetime, BeforeValidator(_require_timestamp_text)]
UuidText = Annotated[StrictStr, AfterValidator(_require_uuid_text)]
