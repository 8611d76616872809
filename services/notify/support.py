"""Emails about support requests (docs/contract.md §10): the question to the office's staff,
each reply to the unit, and the staff's warnings when an answer nears or passes its deadline.

Each email has its ledger key — (request, `support_received` | `answer-<n>` | warning kind,
recipient) — so a redelivered notice, a replayed scan or a crash never sends one twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.notify import db, domain
from services.notify.deliveries import Deps, email_row, local_time, write_deliveries
from shared.consumer import Item
from shared.contract.enums import Status
from shared.contract.internal import SupportNotice, SupportNoticeKind
from shared.messaging import Outgoing

CATEGORY = {
    "registration": ("đăng ký sử dụng dịch vụ", "registration"),
    "signature": ("chữ ký số", "digital signature"),
    "voucher": ("chứng từ", "voucher"),
    "account": ("tài khoản", "account"),
    "other": ("khác", "other"),
}
RESOLUTION = {
    Status.ANSWERED.value: (
        "Yêu cầu vẫn mở: Kho bạc có thể trả lời thêm.",
        "The request stays open.",
    ),
    Status.RESOLVED.value: ("Yêu cầu đã được giải quyết.", "The request is resolved."),
    Status.DEFERRED.value: (
        "Yêu cầu được ghi nhận để xử lý trong phiên bản sau của hệ thống.",
        "The request is taken into a later version of the system.",
    ),
}


def _office_name(deps: Deps, treasury_code: str) -> str:
    office = deps.offices.office(treasury_code)
    return office.name if office else treasury_code


def notices_of(notice: SupportNotice, deps: Deps) -> list[domain.Notice]:
    """On receipt, one email per member of the office's staff; on a reply, one per address
    of the unit."""
    category_vi, category_en = CATEGORY.get(notice.category, (notice.category, notice.category))
    context: dict[str, Any] = {
        "request_id": notice.request_id,
        "dossier_id": notice.dossier_id or "",
        "unit_code": notice.unit_code,
        "unit_name": notice.unit_name,
        "treasury_code": notice.treasury_code,
        "office_name": _office_name(deps, notice.treasury_code),
        "category_vi": category_vi,
        "category_en": category_en,
        "subject": notice.subject,
        "message": notice.message,
        "deadline_local": local_time(notice.deadline),
    }
    if notice.kind == SupportNoticeKind.RECEIVED:
        office = deps.offices.office(notice.treasury_code)
        kind = "support_received"
        return [
            domain.Notice(
                domain.notice_key(notice.request_id, kind, s.email),
                kind,
                notice.request_id,
                s.email,
                "support_staff",
                {**context, "kind": kind},
            )
            for s in (office.staff if office else ())
        ]
    kind = f"answer-{notice.number}"
    resolution_vi, resolution_en = RESOLUTION.get(notice.status, ("", ""))
    answer = {
        **context,
        "kind": "support_answer",
        "officer": notice.officer or "",
        "at_local": local_time(notice.at),
        "resolution_vi": resolution_vi,
        "resolution_en": resolution_en,
    }
    return [
        domain.Notice(
            domain.notice_key(notice.request_id, kind, r),
            "support_answer",
            notice.request_id,
            r,
            "support_answer",
            answer,
        )
        for r in notice.recipients
    ]


async def handle_support_notices(
    session: AsyncSession, items: Sequence[Item], *, deps: Deps
) -> list[Outgoing]:
    """Write the emails of each notice; on receipt, note the request's office and deadline
    so that the deadline scan can warn the office even before the request's status arrives."""
    now = deps.clock()
    rows: list[dict[str, Any]] = []
    for envelope, _ in items:
        notice = SupportNotice.model_validate(envelope.payload)
        rows += [email_row(deps, n, now) for n in notices_of(notice, deps)]
        if notice.kind == SupportNoticeKind.RECEIVED:
            await db.watch_request(
                session,
                request_id=notice.request_id,
                unit_code=notice.unit_code,
                treasury_code=notice.treasury_code,
                deadline=notice.deadline,
                now=now,
            )
    await write_deliveries(session, deps, rows)
    return []
