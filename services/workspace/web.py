"""What every page shares: templates, the officer of the request, form tokens, errors."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from services.workspace import present
from services.workspace.client import Services
from services.workspace.config import WorkspaceSettings
from services.workspace.errors import PageError, Refused, SignInNeeded
from services.workspace.i18n import LANGS, translator
from services.workspace.sessions import Officer, Signer

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "ws_session"
PRE_COOKIE = "ws_pre"


@dataclass
class Web:
    settings: WorkspaceSettings
    services: Services
    signer: Signer
    clock: Callable[[], dt.datetime]
    revoked: set[str] = field(default_factory=set)
    templates: Jinja2Templates = field(
        default_factory=lambda: Jinja2Templates(directory=str(HERE / "templates"))
    )

    def __post_init__(self) -> None:
        env = self.templates.env
        env.globals.update(amount=present.amount, when=present.when, day=present.day)
        env.autoescape = True

    @property
    def warn(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.settings.deadline_warning_minutes)

    def officer_or_none(self, request: Request) -> Officer | None:
        officer = self.signer.officer(request.cookies.get(SESSION_COOKIE), self.clock())
        return None if officer is None or officer.sid in self.revoked else officer

    async def officer(self, request: Request) -> Officer:
        """The signed-in officer (dependency of every page); else off to the sign-in page."""
        officer = self.officer_or_none(request)
        if officer is None:
            raise SignInNeeded(request.url.path)
        return officer

    async def form(self, request: Request) -> dict[str, str]:
        """The posted form, once its token proves it was served to this session for this path."""
        officer = self.officer_or_none(request)
        sid = officer.sid if officer else request.cookies.get(PRE_COOKIE, "")
        data = {k: str(v) for k, v in (await request.form()).items()}
        if not sid or not self.signer.form_token_valid(sid, request.url.path, data.get("csrf")):
            raise Refused("form token missing or not issued to this session for this form")
        return data

    def lang(self, request: Request) -> str:
        chosen = request.cookies.get("lang", "vi")
        return chosen if chosen in LANGS else "vi"

    def render(
        self, request: Request, template: str, *, status: int = 200, **context: Any
    ) -> HTMLResponse:
        officer = context.pop("officer", None) or self.officer_or_none(request)
        sid = context.pop("sid", None) or (
            officer.sid if officer else request.cookies.get(PRE_COOKIE, "")
        )
        lang = self.lang(request)

        def csrf(action: str) -> str:
            return self.signer.form_token(sid, action)

        return self.templates.TemplateResponse(
            request,
            template,
            {
                "officer": officer,
                "lang": lang,
                "t": translator(lang),
                "csrf": csrf,
                "path": request.url.path,
                "here": quote(str(request.url.path), safe="/"),
                "now": self.clock(),
                **context,
            },
            status_code=status,
        )

    def sign_in(self, response: Response, officer_cookie: str) -> None:
        response.set_cookie(
            SESSION_COOKIE,
            officer_cookie,
            max_age=self.settings.workspace_session_minutes * 60,
            httponly=True,
            samesite="strict",
            secure=self.settings.secure_cookies(),
        )

    def pre_session(self, request: Request) -> str:
        """The id that binds sign-in forms to this browser before anyone is signed in."""
        return request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(16)

    def keep_pre_session(self, response: Response, pre: str) -> None:
        response.set_cookie(
            PRE_COOKIE,
            pre,
            max_age=3600,
            httponly=True,
            samesite="strict",
            secure=self.settings.secure_cookies(),
        )

    def install(self, app: FastAPI) -> None:
        async def on_error(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, PageError)
            if isinstance(exc, SignInNeeded):
                if request.method == "GET":
                    return RedirectResponse(f"/signin?next={quote(exc.message)}", 303)
                exc = Refused("no session")
            return self.render(
                request, "error.html.j2", status=exc.status, code=exc.status, message=exc.message
            )

        app.add_exception_handler(PageError, on_error)


def local_path(value: str | None, default: str = "/queue") -> str:
    """A path on this site only (never `//host` or `http://…`), for redirects after sign-in."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default
