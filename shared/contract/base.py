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
    StrictInt,
    StrictStr,
)

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
Amount = StrictInt
"""An integer amount in VND; the sign is a business rule, not checked here."""
IsoDate = Annotated[dt.date, BeforeValidator(_require_iso_date)]
Timestamp = Annotated[AwareDatetime, BeforeValidator(_require_timestamp_text)]
UuidText = Annotated[StrictStr, AfterValidator(_require_uuid_text)]
