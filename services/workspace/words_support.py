"""Words of the support inbox and the reply page (vi, en)."""

from __future__ import annotations

SUPPORT: dict[str, tuple[str, str]] = {
    "nav.support": ("Hỗ trợ đơn vị", "Support"),
    "support.title": ("Yêu cầu hỗ trợ của đơn vị", "Units' support requests"),
    "support.caption": (
        "Yêu cầu chưa giải quyết, hạn trả lời sớm nhất ở trên cùng. Cập nhật lúc {time}.",
        "Open requests, earliest answer deadline first. Updated at {time}.",
    ),
    "support.empty": ("Không có yêu cầu hỗ trợ nào đang mở.", "No support request is open."),
    "support.request": ("Yêu cầu", "Request"),
    "support.heading": ("Yêu cầu hỗ trợ {id}", "Support request {id}"),
    "support.category": ("Loại", "Category"),
    "support.subject": ("Tiêu đề", "Subject"),
    "support.deadline": ("Hạn trả lời", "Answer by"),
    "support.contact": ("Email liên hệ", "Contact email"),
    "support.first_answer_given": ("Đã trả lời lần đầu", "First answer given"),
    "support.question": ("Câu hỏi của đơn vị", "The unit's question"),
    "support.dossier": ("Hồ sơ liên quan {id}", "Dossier concerned {id}"),
    "support.open_dossier": ("Mở hồ sơ", "Open the dossier"),
    "support.dossier_unknown": (
        "Hồ sơ này không thuộc Kho bạc của bạn hoặc chưa được tiếp nhận.",
        "This dossier is not your office's, or has not been received.",
    ),
    "support.conversation": ("Các lần trả lời", "Replies"),
    "support.no_reply": ("Chưa có trả lời nào.", "No reply yet."),
    "support.reply": ("Trả lời đơn vị", "Reply to the unit"),
    "support.message": ("Nội dung trả lời", "Your reply"),
    "support.message.hint": (
        "Đơn vị nhận nguyên văn nội dung này qua email liên hệ và các địa chỉ nhận thông báo.",
        "The unit receives it word for word at its contact and notification addresses.",
    ),
    "support.resolution": ("Sau khi trả lời", "After this reply"),
    "support.resolution.answered": ("Trả lời, yêu cầu vẫn mở", "Answer, keep the request open"),
    "support.resolution.answered.hint": (
        "Bạn hoặc đồng nghiệp có thể trả lời thêm.",
        "You or a colleague can reply again.",
    ),
    "support.resolution.resolved": ("Trả lời và đóng: đã giải quyết", "Answer and close: resolved"),
    "support.resolution.resolved.hint": (
        "Không trả lời thêm được; câu hỏi mới là một yêu cầu mới.",
        "No further reply; a new question is a new request.",
    ),
    "support.resolution.deferred": (
        "Trả lời và chuyển sang phiên bản sau của hệ thống",
        "Answer and take it into a later version of the system",
    ),
    "support.resolution.deferred.hint": (
        "Dùng khi cần thay đổi hệ thống; yêu cầu được đóng.",
        "For what needs a change to the system; the request is closed.",
    ),
    "support.send": ("Gửi trả lời", "Send reply"),
    "support.need_message": ("Nhập nội dung trả lời", "Enter your reply"),
    "support.need_resolution": ("Chọn việc tiếp theo", "Choose what follows the reply"),
    "support.done.answered": ("Đã gửi trả lời", "Reply sent"),
    "support.done.resolved": ("Đã trả lời và đóng yêu cầu", "Replied; the request is resolved"),
    "support.done.deferred": (
        "Đã trả lời; yêu cầu chuyển sang phiên bản sau",
        "Replied; the request is taken into a later version",
    ),
    "support.done.next": (
        "Đơn vị nhận trả lời qua email trong ít phút.",
        "The unit receives the reply by email within minutes.",
    ),
    "category.registration": ("Đăng ký sử dụng dịch vụ", "Registration"),
    "category.signature": ("Chữ ký số", "Digital signature"),
    "category.voucher": ("Chứng từ", "Voucher"),
    "category.account": ("Tài khoản", "Account"),
    "category.other": ("Khác", "Other"),
    "status.answered": ("Đã trả lời", "Answered"),
    "status.resolved": ("Đã giải quyết", "Resolved"),
    "status.deferred": ("Chuyển phiên bản sau", "Deferred"),
}
