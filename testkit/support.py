"""Support requests a unit's portal sends (docs/contract.md §10)."""

from __future__ import annotations

from typing import Any

from shared.contract import Envelope, EventType
from testkit.units import UnitKit, _local_year

SUBJECTS = {
    "signature": ("Không ký được chứng từ", "Chứng thư số của kế toán trưởng báo lỗi khi ký."),
    "voucher": ("Chứng từ chưa được xử lý", "Chứng từ đã gửi từ hôm qua chưa thấy kết quả."),
    "registration": ("Thay đổi người ký", "Đơn vị có kế toán trưởng mới, cần đăng ký lại."),
    "account": ("Số dư tài khoản", "Đề nghị xác nhận số dư tài khoản dự toán."),
    "other": ("Hướng dẫn sử dụng", "Đề nghị hướng dẫn tra cứu hồ sơ trên cổng dịch vụ công."),
}


def support_request_id(unit: UnitKit) -> str:
    year = _local_year(unit.now)
    return f"HT-{unit.treasury_code}-{year}-{unit.ids.digits(6)}{unit.ids.digits(2)}"


def support_payload(
    unit: UnitKit,
    *,
    category: str = "signature",
    dossier_id: str | None = None,
    request_id: str | None = None,
    **changes: Any,
) -> dict[str, Any]:
    """A well-formed `support.requested` payload of `unit`; `changes` override members."""
    subject, body = SUBJECTS.get(category, SUBJECTS["other"])
    payload: dict[str, Any] = {
        "request_id": request_id or support_request_id(unit),
        "unit_code": unit.code,
        "treasury_code": unit.treasury_code,
        "category": category,
        "subject": subject,
        "body": body,
        "dossier_id": dossier_id,
        "contact_email": f"lienhe.{unit.code}@example.vn",
    }
    payload.update(changes)
    return payload


def support_request(unit: UnitKit, **options: Any) -> Envelope:
    """The envelope of `support_payload(unit, **options)`, with a fresh event id."""
    return unit.wrap(support_payload(unit, **options), event_type=EventType.SUPPORT_REQUESTED)
