"""The wall clock, injected into every service from its `main.py` (tests inject their own)."""

from __future__ import annotations

import datetime as dt


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
