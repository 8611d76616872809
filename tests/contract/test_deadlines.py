"""Statutory deadlines (docs/contract.md §4), checked against the `holidays` package's calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import holidays
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.contract.deadlines import (
    CUTOFF,
    TZ,
    WorkingCalendar,
    deadline,
    receipt_date,
    registration_deadline,
    voucher_deadline,
    voucher_working_days,
)

pytestmark = pytest.mark.fast

CALENDAR = WorkingCalendar()
VN = holidays.country_holidays("VN", years=range(2025, 2030))


def at(y: int, m: int, d: int, hh: int = 9, mm: int = 15) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


def due(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 16, 30, tzinfo=TZ)


def test_the_package_lists_tet_2027_as_4_to_10_february() -> None:
    tet = [d for d, name in VN.items() if d.year == 2027 and "Lunar New Year" in name]
    assert sorted(tet) == [date(2027, 2, d) for d in range(4, 11)]


def test_ordinary_tuesday_is_due_wednesday_at_1630() -> None:
    assert voucher_deadline(at(2026, 3, 10), calendar=CALENDAR) == due(2026, 3, 11)


def test_friday_is_due_monday() -> None:
    assert voucher_deadline(at(2026, 3, 13, 16, 45), calendar=CALENDAR) == due(2026, 3, 16)


def test_saturday_receipt_is_due_monday() -> None:
    assert voucher_deadline(at(2026, 3, 14), calendar=CALENDAR) == due(2026, 3, 16)


def test_working_day_before_tet_2027_is_due_first_working_day_after_tet() -> None:
    assert CALENDAR.is_working_day(date(2027, 2, 3))
    assert voucher_deadline(at(2027, 2, 3), calendar=CALENDAR) == due(2027, 2, 11)


def test_contract_example_28_december_2026_gets_two_working_days() -> None:
    result = voucher_deadline(at(2026, 12, 28), calendar=CALENDAR)
    assert result.isoformat() == "2026-12-30T16:30:00+07:00"


def test_sunday_27_december_2026_counts_two_working_days_from_monday() -> None:
    assert voucher_deadline(at(2026, 12, 27), calendar=CALENDAR) == due(2026, 12, 29)


def test_25_january_gets_two_working_days() -> None:
    assert voucher_deadline(at(2027, 1, 25), calendar=CALENDAR) == due(2027, 1, 27)
    assert voucher_deadline(at(2027, 1, 24), calendar=CALENDAR) == due(2027, 1, 25)


@pytest.mark.parametrize(
    ("received", "expected"),
    [
        (date(2026, 1, 24), 1),
        (date(2026, 1, 25), 2),
        (date(2026, 1, 31), 2),
        (date(2026, 2, 1), 1),
        (date(2026, 6, 25), 1),
        (date(2026, 12, 24), 1),
        (date(2026, 12, 25), 2),
        (date(2026, 12, 31), 2),
    ],
)
def test_year_end_windows_give_vouchers_two_working_days(received: date, expected: int) -> None:
    assert voucher_working_days(received) == expected


def test_late_utc_evening_is_already_next_day_in_vietnam() -> None:
    received = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)  # Wednesday 06:30 in Hanoi
    assert receipt_date(received) == date(2026, 3, 11)
    assert voucher_deadline(received, calendar=CALENDAR) == due(2026, 3, 12)


def test_new_years_day_is_skipped_when_crossing_the_year() -> None:
    received = at(2026, 12, 31)
    assert CALENDAR.holiday_name(date(2027, 1, 1)) == "New Year's Day"
    assert voucher_deadline(received, calendar=CALENDAR) == due(2027, 1, 5)
    assert registration_deadline(received, calendar=CALENDAR) == due(2027, 1, 4)


def test_package_compensation_saturday_is_a_working_day() -> None:
    assert CALENDAR.is_working_day(date(2026, 8, 22))
    assert voucher_deadline(at(2026, 8, 21), calendar=CALENDAR) == due(2026, 8, 22)
    assert voucher_deadline(at(2026, 8, 28), calendar=CALENDAR) == due(2026, 9, 3)


def test_extra_holiday_is_skipped_and_named() -> None:
    calendar = WorkingCalendar(extra_holidays=frozenset({date(2027, 2, 3)}))
    assert not calendar.is_working_day(date(2027, 2, 3))
    assert calendar.holiday_name(date(2027, 2, 3)) is not None
    assert voucher_deadline(at(2027, 2, 2), calendar=calendar) == due(2027, 2, 11)


def test_extra_working_saturday_can_be_the_deadline() -> None:
    calendar = WorkingCalendar(extra_working_days=frozenset({date(2026, 3, 14)}))
    assert calendar.is_working_day(date(2026, 3, 14))
    assert voucher_deadline(at(2026, 3, 13), calendar=calendar) == due(2026, 3, 14)


def test_naive_datetime_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        voucher_deadline(datetime(2026, 3, 10, 9, 0), calendar=CALENDAR)


def test_at_least_one_working_day_is_required() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        deadline(at(2026, 3, 10), working_days=0, calendar=CALENDAR)


def test_from_settings_parses_comma_separated_iso_dates() -> None:
    calendar = WorkingCalendar.from_settings("2027-02-03, 2027-02-12", "2027-02-20")
    assert calendar.extra_holidays == {date(2027, 2, 3), date(2027, 2, 12)}
    assert calendar.extra_working_days == {date(2027, 2, 20)}
    assert WorkingCalendar.from_settings("", "").extra_holidays == frozenset()


def test_from_settings_names_the_bad_value() -> None:
    with pytest.raises(ValueError, match=r"extra_working_days: '2027-02-30'"):
        WorkingCalendar.from_settings("2027-02-03", "2027-02-30")


def test_a_date_cannot_be_both_day_off_and_working_day() -> None:
    with pytest.raises(ValueError, match="2027-02-03"):
        WorkingCalendar.from_settings("2027-02-03", "2027-02-03")


def test_working_days_agree_with_the_package_2025_to_2029() -> None:
    d = date(2025, 1, 1)
    while d.year < 2030:
        assert CALENDAR.is_working_day(d) == VN.is_working_day(d), d
        d += timedelta(days=1)


ZONES = st.sampled_from([UTC, TZ, timezone(timedelta(hours=-12)), timezone(timedelta(hours=14))])


# Hypothesis takes naive bounds and attaches one of ZONES to each example.
@given(
    st.datetimes(
        min_value=datetime(2025, 1, 1),
        max_value=datetime(2028, 12, 31, 23, 59, 59),
        timezones=ZONES,
    )
)
def test_deadline_is_1630_on_the_nth_working_day_after_receipt(received: datetime) -> None:
    result = voucher_deadline(received, calendar=CALENDAR)
    received_on = received.astimezone(TZ).date()
    assert result.tzinfo is TZ
    assert result.timetz().replace(tzinfo=None) == CUTOFF
    assert result.utcoffset() == timedelta(hours=7)
    assert result.date() > received_on
    assert VN.is_working_day(result.date())
    between = [
        received_on + timedelta(days=k) for k in range(1, (result.date() - received_on).days)
    ]
    assert sum(VN.is_working_day(d) for d in between) == voucher_working_days(received_on) - 1
