"""How figures read on the page: pure functions, Vietnamese formats, the clock passed in."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from cryptography import x509

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")


def amount(value: int | None) -> str:
    """`1.200.000.000 đ`: dots between thousands, the dong sign after."""
    if value is None:
        return "—"
    return f"{value:,}".replace(",", ".") + " đ"


def parse_time(value: str | dt.datetime | None) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(value)


def when(value: str | dt.datetime | None) -> str:
    """`28/12/2026 16:30`, in Hanoi time."""
    moment = parse_time(value)
    return moment.astimezone(LOCAL).strftime("%d/%m/%Y %H:%M") if moment else "—"


def day(value: str | dt.date | None) -> str:
    """`28/12/2026` from an ISO date."""
    if value is None:
        return "—"
    d = value if isinstance(value, dt.date) else dt.date.fromisoformat(value[:10])
    return d.strftime("%d/%m/%Y")


@dataclass(frozen=True)
class Urgency:
    """How pressing a deadline is: `overdue` (red), `soon` (amber) or `ok`; time left."""

    level: str
    minutes: int

    def text(self, lang: str) -> str:
        m = abs(self.minutes)
        days, rest = divmod(m, 24 * 60)
        hours, minutes = divmod(rest, 60)
        if lang == "en":
            parts = [f"{days} d"] if days else []
            parts += [f"{hours} h", f"{minutes:02d} min"]
            return ("overdue by " if self.level == "overdue" else "") + " ".join(parts)
        parts = [f"{days} ngày"] if days else []
        parts += [f"{hours} giờ", f"{minutes:02d} phút"]
        return ("quá hạn " if self.level == "overdue" else "còn ") + " ".join(parts)


def urgency(deadline: str | dt.datetime, now: dt.datetime, warn: dt.timedelta) -> Urgency:
    moment = parse_time(deadline)
    assert moment is not None
    left = moment - now
    minutes = int(left.total_seconds() // 60)
    if left <= dt.timedelta(0):
        return Urgency("overdue", minutes)
    return Urgency("soon" if left <= warn else "ok", minutes)


def bars(
    hours: list[dict[str, object]], series: tuple[str, ...], *, width: int = 720, height: int = 180
) -> dict[str, object]:
    """Geometry of an SVG bar chart of the day by hour, one bar per series in each hour."""
    counts = {(int(str(h["hour"])), str(h["status"])): int(str(h["count"])) for h in hours}
    top = max([1, *counts.values()])
    slot = width / 24
    bar = slot / (len(series) + 1)
    rects = []
    for hour in range(24):
        for i, name in enumerate(series):
            n = counts.get((hour, name), 0)
            h = round((height - 20) * n / top, 1)
            rects.append(
                {
                    "x": round(hour * slot + (i + 0.5) * bar, 1),
                    "y": round(height - 20 - h, 1),
                    "w": round(bar, 1),
                    "h": h,
                    "series": name,
                    "hour": hour,
                    "count": n,
                }
            )
    return {"width": width, "height": height, "rects": rects, "top": top, "slot": slot}


def certificate(pem: str) -> dict[str, object]:
    """What an officer checks on a signer's certificate: subject, issuer, serial, validity."""
    try:
        cert = x509.load_pem_x509_certificate(pem.encode())
    except ValueError:
        return {"error": "unreadable certificate"}
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "serial": f"{cert.serial_number:x}",
        "not_before": cert.not_valid_before_utc,
        "not_after": cert.not_valid_after_utc,
    }
