"""The workspace's words, Vietnamese first, English on request (cookie `lang`)."""

from __future__ import annotations

from collections.abc import Callable

from services.workspace.words import PAGES
from services.workspace.words_support import SUPPORT

LANGS = ("vi", "en")

TEXT: dict[str, tuple[str, str]] = {
    "service": ("Bàn làm việc Kho bạc", "Treasury workspace"),
    "skip": ("Bỏ qua, đến nội dung chính", "Skip to main content"),
    "nav.queue": ("Hồ sơ chờ duyệt", "Review queue"),
    "nav.registrations": ("Đăng ký chờ duyệt", "Registrations"),
    "nav.units": ("Đơn vị", "Units"),
    "nav.search": ("Tra cứu", "Search"),
    "nav.today": ("Hôm nay", "Today"),
    "nav.deliveries": ("Thư và webhook lỗi", "Failed deliveries"),
    "signout": ("Đăng xuất", "Sign out"),
    "switch": ("English", "Tiếng Việt"),
    "signin.title": ("Đăng nhập", "Sign in"),
    "signin.email": ("Địa chỉ email công vụ", "Work email address"),
    "signin.email.hint": (
        "Chúng tôi gửi một mã dùng một lần tới địa chỉ này nếu nó có trong danh bạ Kho bạc.",
        "We send a one-time code to this address if it is in the treasury's directory.",
    ),
    "signin.send": ("Gửi mã", "Send code"),
    "signin.code.title": ("Nhập mã đăng nhập", "Enter your sign-in code"),
    "signin.code": ("Mã gồm 6 chữ số", "6-digit code"),
    "signin.code.hint": (
        "Mã đã được gửi tới email của bạn (nếu địa chỉ có trong danh bạ) "
        "và hết hạn sau {minutes} phút.",
        "The code was emailed to you (if the address is in the directory); "
        "it expires in {minutes} minutes.",
    ),
    "signin.continue": ("Tiếp tục", "Continue"),
    "signin.again": ("Gửi lại mã", "Send another code"),
    "signin.wrong": ("Mã không đúng hoặc đã hết hạn", "The code is wrong or has expired"),
    "signin.email.missing": ("Nhập địa chỉ email", "Enter an email address"),
    "signin.too_many": (
        "Đã gửi quá nhiều mã tới địa chỉ này; hãy thử lại sau ít phút",
        "Too many codes were sent to this address; try again in a few minutes",
    ),
    "signin.mail.subject": ("Mã đăng nhập Bàn làm việc Kho bạc", "Treasury workspace sign-in code"),
    "error.summary": ("Có vấn đề", "There is a problem"),
    "error.403": ("Bạn không có quyền thực hiện việc này", "You cannot do this"),
    "error.404": ("Không tìm thấy trang", "Page not found"),
    "error.409": ("Yêu cầu không thực hiện được", "The request could not be done"),
    "error.503": ("Dịch vụ tạm thời không trả lời", "A service is not answering"),
    "error.500": ("Có lỗi xảy ra", "Something went wrong"),
    "error.back": ("Về hàng chờ", "Back to the queue"),
    "queue.title": ("Hồ sơ chờ duyệt", "Dossiers awaiting review"),
    "queue.in_review": ("Chờ duyệt", "In review"),
    "queue.at_risk": ("Sắp đến hạn", "Due soon"),
    "queue.overdue": ("Quá hạn", "Overdue"),
    "queue.empty": ("Không có hồ sơ nào chờ duyệt.", "No dossier is waiting for review."),
    "queue.caption": (
        "Hạn sớm nhất ở trên cùng. Cập nhật lúc {time}.",
        "Earliest deadline first. Updated at {time}.",
    ),
    "queue.next": ("Trang sau", "Next page"),
    "queue.prev": ("Trang trước", "Previous page"),
    "col.dossier": ("Hồ sơ", "Dossier"),
    "col.unit": ("Đơn vị", "Unit"),
    "col.payee": ("Người nhận", "Payee"),
    "col.amount": ("Số tiền", "Amount"),
    "col.received": ("Nhận lúc", "Received"),
    "col.deadline": ("Hạn xử lý", "Deadline"),
    "col.left": ("Thời gian còn lại", "Time left"),
    "col.status": ("Trạng thái", "Status"),
    "col.time": ("Thời điểm", "Time"),
    "col.by": ("Người quyết định", "Decided by"),
    "col.reasons": ("Lý do", "Reasons"),
    "col.code": ("Mã", "Code"),
    "col.name": ("Tên", "Name"),
    "col.kind": ("Loại", "Kind"),
    "col.channel": ("Kênh", "Channel"),
    "col.recipient": ("Người nhận", "Recipient"),
    "col.attempts": ("Số lần gửi", "Attempts"),
    "col.error": ("Lỗi gần nhất", "Last error"),
    "status.received": ("Đã nhận", "Received"),
    "status.in_review": ("Chờ duyệt", "In review"),
    "status.approved": ("Đã duyệt", "Approved"),
    "status.refused": ("Từ chối", "Refused"),
    "status.returned": ("Trả lại để bổ sung", "Returned"),
    "status.rejected": ("Không tiếp nhận", "Rejected"),
    "status.pending": ("Chờ gửi lại", "Retrying"),
    "status.dead": ("Không gửi được", "Dead"),
    "status.sent": ("Đã gửi", "Sent"),
    "status.active": ("Đang hoạt động", "Active"),
    "status.suspended": ("Tạm dừng", "Suspended"),
    "status.closed": ("Đã đóng", "Closed"),
}


def translator(lang: str) -> Callable[..., str]:
    index = 1 if lang == "en" else 0

    def t(key: str, **values: object) -> str:
        pair = TEXT.get(key) or PAGES.get(key) or SUPPORT.get(key)
        text = pair[index] if pair else key
        return text.format(**values) if values else text

    return t
