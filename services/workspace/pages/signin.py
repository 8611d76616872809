"""Signing in with a one-time code sent to the officer's directory address, and out again.

An address outside `TREASURY_DIRECTORY` gets the same answer as one inside it and no mail,
so the page does not tell who works at the treasury.
"""

import datetime as dt
import logging
from email.message import EmailMessage
from typing import Annotated

import aiosmtplib
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from services.workspace.codes import CodeBook, TooManyCodes
from services.workspace.errors import Refused
from services.workspace.i18n import translator
from services.workspace.oidc import OidcRefused, OidcVerifier
from services.workspace.sessions import Officer
from services.workspace.web import PRE_COOKIE, SESSION_COOKIE, Web, local_path
from shared.offices import Office, Staff, TreasuryDirectory

log = logging.getLogger(__name__)
PENDING_COOKIE = "ws_pending"


def router(
    web: Web, offices: TreasuryDirectory, codes: CodeBook, oidc: OidcVerifier | None
) -> APIRouter:
    api = APIRouter()
    settings = web.settings
    FormDep = Annotated[dict[str, str], Depends(web.form)]  # noqa: N806
    OfficerDep = Annotated[Officer, Depends(web.officer)]  # noqa: N806

    def page(request: Request, template: str, status: int = 200, **context: object) -> Response:
        pre = web.pre_session(request)
        response = web.render(request, template, status=status, sid=pre, **context)
        web.keep_pre_session(response, pre)
        return response

    @api.get("/signin")
    async def signin_form(request: Request, next: str = "/queue") -> Response:
        return page(request, "signin.html.j2", next=local_path(next), email="")

    @api.post("/signin")
    async def send_code(request: Request, form: FormDep) -> Response:
        email = form.get("email", "").strip()
        t = translator(web.lang(request))
        target = local_path(form.get("next"))
        if "@" not in email:
            errors = {"email": t("signin.email.missing")}
            return page(request, "signin.html.j2", 400, errors=errors, email=email, next=target)
        member = offices.member(email)
        if member is not None:
            try:
                code = codes.issue(email, web.clock())
            except TooManyCodes:
                errors = {"email": t("signin.too_many")}
                return page(request, "signin.html.j2", 429, errors=errors, email=email, next=target)
            await _mail_code(web, email, code)
        pending = web.signer.sign({"kind": "pending", "email": email, "next": target})
        response = RedirectResponse("/signin/code", 303)
        response.set_cookie(
            PENDING_COOKIE,
            pending,
            max_age=settings.workspace_code_minutes * 60,
            httponly=True,
            samesite="strict",
            secure=settings.secure_cookies(),
        )
        return response

    @api.get("/signin/code")
    async def code_form(request: Request) -> Response:
        return page(request, "signin_code.html.j2", minutes=settings.workspace_code_minutes)

    @api.post("/signin/code")
    async def check_code(request: Request, form: FormDep) -> Response:
        pending = web.signer.unsign(request.cookies.get(PENDING_COOKIE, "")) or {}
        email = str(pending.get("email", ""))
        member = offices.member(email) if pending.get("kind") == "pending" else None
        now = web.clock()
        if member is None or not codes.redeem(email, form.get("code", ""), now):
            errors = {"code": translator(web.lang(request))("signin.wrong")}
            minutes = settings.workspace_code_minutes
            return page(request, "signin_code.html.j2", 400, errors=errors, minutes=minutes)
        response = RedirectResponse(local_path(str(pending.get("next", ""))), 303)
        _start_session(web, response, member)
        response.delete_cookie(PENDING_COOKIE)
        log.info("officer signed in", extra={"officer": member[1].email, "by": "code"})
        return response

    @api.get("/signin/oidc")
    async def signin_oidc(request: Request, next: str = "/queue") -> Response:
        header = request.headers.get("authorization", "")
        if oidc is None or not header.lower().startswith("bearer "):
            raise Refused("no identity provider is configured, or no token was forwarded")
        try:
            email = oidc.email(header[7:].strip())
        except OidcRefused as err:
            raise Refused(f"identity provider token refused: {err}") from None
        member = offices.member(email)
        if member is None:
            raise Refused("this person is not in the treasury's directory")
        response = RedirectResponse(local_path(next), 303)
        _start_session(web, response, member)
        return response

    @api.post("/signout")
    async def signout(officer: OfficerDep, form: FormDep) -> Response:
        del form
        web.revoked.add(officer.sid)
        response = RedirectResponse("/signin", 303)
        response.delete_cookie(SESSION_COOKIE)
        response.delete_cookie(PRE_COOKIE)
        return response

    @api.get("/lang")
    async def switch_language(to: str = "vi", back: str = "/queue") -> Response:
        response = RedirectResponse(local_path(back), 303)
        response.set_cookie(
            "lang",
            "en" if to == "en" else "vi",
            max_age=365 * 86400,
            samesite="strict",
            httponly=True,
        )
        return response

    return api


def _start_session(web: Web, response: Response, member: tuple[Office, Staff]) -> None:
    office, staff = member
    _, cookie = web.signer.session(
        email=staff.email,
        role=staff.role,
        treasury_code=office.treasury_code,
        office_name=office.name,
        now=web.clock(),
        ttl=dt.timedelta(minutes=web.settings.workspace_session_minutes),
    )
    web.sign_in(response, cookie)


async def _mail_code(web: Web, email: str, code: str) -> None:
    vi, en = translator("vi"), translator("en")
    minutes = web.settings.workspace_code_minutes
    message = EmailMessage()
    message["From"] = web.settings.smtp_from
    message["To"] = email
    message["Subject"] = f"{vi('signin.mail.subject')} / {en('signin.mail.subject')}"
    message.set_content(
        f"Mã đăng nhập của bạn: {code}\nMã dùng một lần, hết hạn sau {minutes} phút.\n"
        "Nếu bạn không yêu cầu mã này, hãy bỏ qua thư.\n\n"
        f"Your sign-in code: {code}\nIt works once and expires in {minutes} minutes.\n"
        "If you did not ask for it, ignore this email.\n",
        cte="8bit",
    )
    await aiosmtplib.send(
        message, hostname=web.settings.smtp_host, port=web.settings.smtp_port, start_tls=False
    )
