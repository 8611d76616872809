"""Settings of the notify service."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from shared.settings import StaffMailSettings


class NotifySettings(StaffMailSettings):
    notify_port: int = 8004
    notify_batch_size: int = 500
    # How long notify gathers statuses before writing their notices, in one transaction.
    # Mails need not leave within the second, and fewer, larger transactions leave the cores
    # to the services a voucher's decision waits for. 0: apply each batch as soon as the
    # stream is quiet, as the other consumers do.
    notify_gather_seconds: float = Field(default=0.25, ge=0, le=5)
    # Local time (Asia/Ho_Chi_Minh) at which each office's daily digest is sent, "HH:MM".
    digest_time: str = "17:00"
    # How long before a deadline treasury staff are warned, in minutes.
    deadline_warning_minutes: int = 120
    # Deliveries sent at once, each sender with its own SMTP connection and two database
    # connections during a send (the held lock and the attempt record): the pool has 20.
    notify_senders: int = Field(default=4, ge=1, le=8)
    notify_send_batch: int = Field(default=20, ge=1, le=500)
    notify_webhook_senders: int = Field(default=2, ge=1, le=8)
    # A testing aid: crash at a point of a send (services/notify/faults.py); empty: never.
    notify_fault: str = ""
    # Portals' webhook URLs, comma-separated; each status is posted to each, signed with
    # `webhook_secret`.
    portal_webhooks: str = ""
    webhook_secret: str = ""
    webhook_max_attempts: int = 8
    retry_max_seconds: float = 300.0

    def webhook_urls(self) -> list[str]:
        return [u.strip() for u in self.portal_webhooks.split(",") if u.strip()]

    def digest_at(self) -> dt.time:
        try:
            return dt.time.fromisoformat(self.digest_time)
        except ValueError:
            raise ValueError(f"DIGEST_TIME must be HH:MM, not {self.digest_time!r}") from None
