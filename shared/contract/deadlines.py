"""Statutory deadlines (docs/contract.md §4): 16:30 Asia/Ho_Chi_Minh, N working days after receipt.

Pure: no I/O and no clock; the instant of receipt comes in as an argument. Working days are
Monday–Friday minus Vietnamese public holidays (the `holidays` package, including the Saturdays
it lists as worked in compensation), adjusted by configured government decisions.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

__all__ = [
    "CUTOFF",
    "TZ",
    "WorkingCalendar",
    "deadline",
    "receipt_date",
    "registration_deadline",
    "voucher_deadline",
    "voucher_working_days",
]

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
CUTOFF = time(16, 30)
EXTRA_HOLIDAY_NAME = "Day off (government decision)"


@dataclass(frozen=True, slots=True)
class _Year:
    working: tuple[date, ...]  # sorted, so the n-th working day after d is one bisect away
    working_set: frozenset[date]
    names: dict[date, str]


class WorkingCalendar:
    """Vietnamese working days, with days off and compensation Saturdays decided by government."""

    def __init__(
        self,
        *,
        extra_holidays: frozenset[date] = frozenset(),
        extra_working_days: frozenset[date] = frozenset(),
    ) -> None:
        both = extra_holidays & extra_working_days
        if both:
            listed = ", ".join(sorted(d.isoformat() for d in both))
            raise ValueError(f"dates both extra holidays and extra working days: {listed}")
        self._extra_holidays = extra_holidays
        self._extra_working_days = extra_working_days
        self._years: dict[int, _Year] = {}  # filled lazily, one entry per year asked about

    @classmethod
    def from_settings(cls, extra_holidays: str, extra_working_days: str) -> WorkingCalendar:
        """Build from comma-separated ISO dates, as kept in settings; an empty string is none."""
        return cls(
            extra_holidays=_parse_dates("extra_holidays", extra_holidays),
            extra_working_days=_parse_dates("extra_working_days", extra_working_days),
        )

    @property
    def extra_holidays(self) -> frozenset[date]:
        return self._extra_holidays

    @property
    def extra_working_days(self) -> frozenset[date]:
        return self._extra_working_days

    def is_working_day(self, d: date) -> bool:
        return d in self._year(d.year).working_set

    def add_working_days(self, d: date, n: int) -> date:
        """The n-th working day strictly after d (n >= 1)."""
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        year = d.year
        days = self._year(year).working
        i = bisect_right(days, d) + n - 1
        while i >= len(days):
            i -= len(days)
            year += 1
            days = self._year(year).working
        return days[i]

    def holiday_name(self, d: date) -> str | None:
        return self._year(d.year).names.get(d)

    def _year(self, year: int) -> _Year:
        cached = self._years.get(year)
        if cached is None:
            cached = self._years[year] = self._build_year(year)
        return cached

    def _build_year(self, year: int) -> _Year:
        public = holidays.country_holidays("VN", years=year)
        names = {d: name for d, name in public.items() if d.year == year}
        for extra in self._extra_holidays:
            if extra.year == year:
                names.setdefault(extra, EXTRA_HOLIDAY_NAME)
        working: list[date] = []
        d = date(year, 1, 1)
        while d.year == year:
            # Same rule as holidays' own is_working_day, then government decisions on top.
            usual = d in public.weekend_workdays if d.weekday() >= 5 else d not in public
            if d in self._extra_working_days or (usual and d not in self._extra_holidays):
                working.append(d)
            d += timedelta(days=1)
        return _Year(working=tuple(working), working_set=frozenset(working), names=names)


def _parse_dates(setting: str, raw: str) -> frozenset[date]:
    parsed: set[date] = set()
    for item in raw.split(","):
        text = item.strip()
        if not text:
            continue
        try:
            parsed.add(date.fromisoformat(text))
        except ValueError:
            raise ValueError(f"{setting}: {text!r} is not an ISO date (YYYY-MM-DD)") from None
    return frozenset(parsed)


def voucher_working_days(received_local_date: date) -> int:
    """2 working days for vouchers received 25–31 January or 25–31 December, else 1."""
    return 2 if received_local_date.month in (1, 12) and received_local_date.day >= 25 else 1


def receipt_date(received_at: datetime) -> date:
    """The day of receipt: the date in Asia/Ho_Chi_Minh of an aware instant."""
    if received_at.tzinfo is None or received_at.utcoffset() is None:
        raise ValueError(f"received_at must be timezone-aware, got {received_at.isoformat()}")
    return received_at.astimezone(TZ).date()


def deadline(received_at: datetime, *, working_days: int, calendar: WorkingCalendar) -> datetime:
    """16:30 local on the `working_days`-th working day after the day of receipt."""
    due = calendar.add_working_days(receipt_date(received_at), working_days)
    return datetime.combine(due, CUTOFF, tzinfo=TZ)


def voucher_deadline(received_at: datetime, *, calendar: WorkingCalendar) -> datetime:
    """Deadline for a regular-spending payment voucher (Decree 347/2025)."""
    n = voucher_working_days(receipt_date(received_at))
    return deadline(received_at, working_days=n, calendar=calendar)


def registration_deadline(received_at: datetime, *, calendar: WorkingCalendar) -> datetime:
    """Deadline for a unit's account and signature registration: 1 working day."""
    return deadline(received_at, working_days=1, calendar=calendar)


def investment_deadline(
    received_at: datetime, *, advance: bool, calendar: WorkingCalendar
) -> datetime:
    """Deadline for an investment request (Decree 254/2025): an advance 1 working day, a
    payment 2; the year-end extension of vouchers does not apply."""
    return deadline(received_at, working_days=1 if advance else 2, calendar=calendar)
