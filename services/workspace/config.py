"""Settings of the workspace: where the services answer, how officers sign in."""

from __future__ import annotations

from pydantic import Field

from shared.settings import StaffMailSettings


class WorkspaceSettings(StaffMailSettings):
    workspace_port: int = 8005
    # The address officers open; cookies are `Secure` when it is https.
    workspace_public_url: str = "http://127.0.0.1:8005"
    # Signs session cookies and form tokens. Empty: one is made for this process (sessions
    # then end when it stops), with a warning; set it in production.
    workspace_secret_key: str = ""
    workspace_session_minutes: int = Field(default=480, ge=5, le=24 * 60)
    workspace_code_minutes: int = Field(default=10, ge=1, le=60)
    # At most this many codes per address in `workspace_code_window_minutes`.
    workspace_codes_per_window: int = Field(default=3, ge=1)
    workspace_code_window_minutes: int = Field(default=15, ge=1)
    workspace_code_attempts: int = Field(default=5, ge=1)
    # The queue refreshes itself every this many seconds.
    workspace_refresh_seconds: int = Field(default=30, ge=5)
    # How long before a deadline a dossier turns amber (the alerts use the same setting).
    deadline_warning_minutes: int = Field(default=120, ge=0)
    registration_url: str = "http://127.0.0.1:8001"
    vouchers_url: str = "http://127.0.0.1:8002"
    control_url: str = "http://127.0.0.1:8003"
    notify_url: str = "http://127.0.0.1:8004"
    support_url: str = "http://127.0.0.1:8006"
    # An identity provider in front (docs/workspace.md): its issuer, its keys (a JWKS file
    # path or https URL) and the audience its tokens are for. Unset: emailed codes only.
    workspace_oidc_issuer: str = ""
    workspace_oidc_jwks: str = ""
    workspace_oidc_audience: str = ""
    workspace_oidc_email_claim: str = "email"

    def secure_cookies(self) -> bool:
        return self.workspace_public_url.startswith("https://")

    def oidc_enabled(self) -> bool:
        return bool(self.workspace_oidc_issuer and self.workspace_oidc_jwks)
