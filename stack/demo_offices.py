"""The demo's treasury offices and their staff: the offices file of `make run`, the chaos run
and the bench, and the officer to sign in as in the workspace."""

from __future__ import annotations

from typing import Any

OFFICES = {
    "0011": "Kho bạc Nhà nước khu vực Lai Châu",
    "0012": "Kho bạc Nhà nước khu vực Hà Nội",
    "0013": "Kho bạc Nhà nước khu vực TP. Hồ Chí Minh",
}
# Who to sign in as in the workspace after `make run`.
DEMO_OFFICER = "kiemsoat.0011@kbnn.gov.vn"


def offices_document() -> dict[str, Any]:
    return {
        "offices": [
            {
                "treasury_code": code,
                "name": name,
                "staff": [
                    {"email": f"kiemsoat.{code}@kbnn.gov.vn", "role": "controller"},
                    {"email": f"lanhdao.{code}@kbnn.gov.vn", "role": "head"},
                    {"email": f"vanhanh.{code}@kbnn.gov.vn", "role": "ops"},
                ],
            }
            for code, name in OFFICES.items()
        ]
    }
