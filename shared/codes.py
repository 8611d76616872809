"""Formats of the budget classification codes (Circular 130/2025, Circular 185/2015).

Only the syntax of each code: whether a code fits a given spending is the services' business.
Each check returns None when the code is well-formed, or a message saying what is wrong.
"""

from __future__ import annotations

import re

_DIGITS = {n: re.compile(rf"[0-9]{{{n}}}") for n in (2, 3, 4, 7)}
CHAPTER_RANGES = ((1, 399), (400, 599), (800, 989))
BUDGET_LEVELS = frozenset({1, 2, 4})


def _digits(value: str, n: int, what: str) -> str | None:
    if not _DIGITS[n].fullmatch(value):
        return f"{what} phải gồm {n} chữ số ({what} must be {n} digits), nhận {value!r}"
    return None


def unit_code(value: str) -> str | None:
    """Mã ĐVQHNS: 7 digits, the first 1/2 (budget units), 3 (others) or 7/8 (projects)."""
    if problem := _digits(value, 7, "mã ĐVQHNS"):
        return problem
    if value[0] not in "12378":
        return f"mã ĐVQHNS {value} phải bắt đầu bằng 1, 2, 3, 7 hoặc 8 (must start with 1/2/3/7/8)"
    return None


def project(value: str) -> str | None:
    """An investment project's code: a unit budget code whose first digit is 7 or 8."""
    if value[:1] not in ("7", "8"):
        return f"mã dự án {value} phải bắt đầu bằng 7 hoặc 8 (a project code starts with 7 or 8)"
    return None


def chapter(value: str) -> str | None:
    """Chương: 3 digits in 001–399 (central), 400–599 (province) or 800–989 (commune)."""
    if problem := _digits(value, 3, "chương"):
        return problem
    if not any(low <= int(value) <= high for low, high in CHAPTER_RANGES):
        return f"chương {value} không thuộc 001–399, 400–599, 800–989 (outside the valid ranges)"
    return None


def sector(value: str) -> str | None:
    """Khoản: 3 digits, units digit 1–9 (it belongs to the category with the same tens)."""
    if problem := _digits(value, 3, "khoản"):
        return problem
    if value[2] == "0":
        return f"khoản {value} phải có chữ số hàng đơn vị 1–9 (units digit must be 1-9)"
    return None


def economic(value: str) -> str | None:
    """Tiểu mục: 4 digits, units digit 1–9 (it belongs to the item with the same tens)."""
    if problem := _digits(value, 4, "tiểu mục"):
        return problem
    if value[3] == "0":
        return f"tiểu mục {value} phải có chữ số hàng đơn vị 1–9 (units digit must be 1-9)"
    return None


def source(value: str) -> str | None:
    """Nguồn NSNN: 2 digits."""
    return _digits(value, 2, "nguồn ngân sách")


def treasury(value: str) -> str | None:
    """Mã KBNN: 4 digits."""
    return _digits(value, 4, "mã KBNN")


def budget_level(value: int) -> str | None:
    if value not in BUDGET_LEVELS:
        return f"cấp ngân sách {value} không hợp lệ: 1, 2 hoặc 4 (budget level must be 1, 2 or 4)"
    return None
