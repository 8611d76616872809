"""The workspace's own pieces, without a stack: codes, sessions, form tokens, formats, the
identity-provider seam."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from services.workspace import present
from services.workspace.codes import CodeBook, TooManyCodes
from services.workspace.domain import VOUCHER_REASONS, DecisionForm, ReplyForm
from services.workspace.oidc import OidcRefused, OidcVerifier
from services.workspace.sessions import Signer

NOW = dt.datetime(2026, 12, 28, 9, 0, tzinfo=dt.UTC)


def book() -> CodeBook:
    return CodeBook(
        lifetime=dt.timedelta(minutes=10),
        per_window=3,
        window=dt.timedelta(minutes=15),
        attempts=3,
    )


def test_a_code_works_once_and_not_after_it_expires() -> None:
    codes = book()
    code = codes.issue("KSV@kbnn.gov.vn", NOW)
    assert codes.redeem("ksv@kbnn.gov.vn", code, NOW + dt.timedelta(minutes=1))
    assert not codes.redeem("ksv@kbnn.gov.vn", code, NOW + dt.timedelta(minutes=2))
    late = codes.issue("ksv@kbnn.gov.vn", NOW)
    assert not codes.redeem("ksv@kbnn.gov.vn", late, NOW + dt.timedelta(minutes=10))


def test_wrong_tries_use_a_code_up_and_codes_are_limited_per_window() -> None:
    codes = book()
    code = codes.issue("a@kbnn.gov.vn", NOW)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(3):
        assert not codes.redeem("a@kbnn.gov.vn", wrong, NOW)
    assert not codes.redeem("a@kbnn.gov.vn", code, NOW)
    codes.issue("a@kbnn.gov.vn", NOW)
    codes.issue("a@kbnn.gov.vn", NOW)
    with pytest.raises(TooManyCodes):
        codes.issue("a@kbnn.gov.vn", NOW + dt.timedelta(minutes=5))
    codes.issue("a@kbnn.gov.vn", NOW + dt.timedelta(minutes=16))


def test_a_session_cookie_cannot_be_altered_and_ends_when_it_expires() -> None:
    signer = Signer("a-test-key-of-at-least-32-characters!!")
    officer, cookie = signer.session(
        email="ksv@kbnn.gov.vn",
        role="controller",
        treasury_code="0011",
        office_name="KBNN",
        now=NOW,
        ttl=dt.timedelta(hours=8),
    )
    assert signer.officer(cookie, NOW + dt.timedelta(hours=1)) == officer
    assert signer.officer(cookie, NOW + dt.timedelta(hours=9)) is None
    body, _, mac = cookie.partition(".")
    forged = Signer("another-key-of-at-least-32-characters!").sign({"kind": "session"})
    assert signer.officer(f"{body[:-2]}AA.{mac}", NOW) is None
    assert signer.officer(forged, NOW) is None


def test_a_form_token_holds_only_for_its_session_and_its_path() -> None:
    signer = Signer("a-test-key-of-at-least-32-characters!!")
    token = signer.form_token("session-a", "/dossiers/X/decision")
    assert signer.form_token_valid("session-a", "/dossiers/X/decision", token)
    assert not signer.form_token_valid("session-b", "/dossiers/X/decision", token)
    assert not signer.form_token_valid("session-a", "/dossiers/Y/decision", token)
    assert not signer.form_token_valid("session-a", "/dossiers/X/decision", None)


def test_amounts_and_times_read_as_in_vietnam() -> None:
    assert present.amount(1_200_000_000) == "1.200.000.000 đ"
    assert present.when("2026-12-28T09:30:00+00:00") == "28/12/2026 16:30"
    warn = dt.timedelta(minutes=120)
    assert present.urgency(NOW - dt.timedelta(minutes=5), NOW, warn).level == "overdue"
    assert present.urgency(NOW + dt.timedelta(minutes=90), NOW, warn).level == "soon"
    later = present.urgency(NOW + dt.timedelta(hours=26, minutes=5), NOW, warn)
    assert later.level == "ok"
    assert later.text("vi") == "còn 1 ngày 2 giờ 05 phút"


def test_refusing_or_returning_asks_for_a_reason_of_that_kind() -> None:
    choices = ("approve", "refuse", "return")
    assert DecisionForm("", "", "").errors(VOUCHER_REASONS, choices) == {
        "decision": "decide.need_decision"
    }
    assert DecisionForm("refuse", "", "").errors(VOUCHER_REASONS, choices) == {
        "reason_code": "decide.need_reason"
    }
    assert DecisionForm("return", "BUDGET_EXCEEDED", "").errors(VOUCHER_REASONS, choices) == {
        "reason_code": "decide.wrong_reason"
    }
    refusal = DecisionForm("refuse", "BUDGET_EXCEEDED", "")
    assert refusal.errors(VOUCHER_REASONS, choices) == {}
    assert refusal.body("Vượt dự toán") == {
        "decision": "refuse",
        "reasons": [{"code": "BUDGET_EXCEEDED", "message": "Vượt dự toán"}],
    }
    assert DecisionForm("approve", "", "").body("") == {"decision": "approve"}


def test_an_identity_providers_token_is_trusted_only_when_signed_for_this_audience(
    tmp_path: Path,
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig"}]}))
    issuer = "https://sso.kbnn.gov.vn/realms/kbnn"
    verifier = OidcVerifier(
        issuer=issuer, jwks=str(jwks), audience="workspace", email_claim="email"
    )
    claims = {
        "iss": issuer,
        "aud": "workspace",
        "sub": "u-1",
        "email": "ksv@kbnn.gov.vn",
        "exp": dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5),
    }

    def token(**changes: object) -> str:
        return jwt.encode({**claims, **changes}, key, algorithm="RS256", headers={"kid": "k1"})

    assert verifier.email(token()) == "ksv@kbnn.gov.vn"
    for bad in (
        token(aud="another-client"),
        token(iss="https://elsewhere"),
        token(exp=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)),
        jwt.encode(claims, "a-shared-secret-of-32-bytes-or-more!", algorithm="HS256"),
    ):
        with pytest.raises(OidcRefused):
            verifier.email(bad)


def test_a_reply_needs_a_message_and_one_of_the_three_resolutions() -> None:
    assert ReplyForm.read({"message": " ", "resolution": ""}).errors() == {
        "message": "support.need_message",
        "resolution": "support.need_resolution",
    }
    assert ReplyForm.read({"message": "Đã xử lý", "resolution": "closed"}).errors() == {
        "resolution": "support.need_resolution"
    }
    for resolution in ("answered", "resolved", "deferred"):
        assert ReplyForm.read({"message": "Đã xử lý", "resolution": resolution}).errors() == {}
