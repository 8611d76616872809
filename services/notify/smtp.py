"""One SMTP connection, and what a failed send says about the mail's fate.

A send either ends with the server's "250" (the server has the mail, for every recipient it
accepted), or fails in one of two ways the ledger must tell apart:

- `NotTaken`: the server did not take the mail — no connection, a refused sender or every
  recipient refused, or the server's own answer refusing the message. Sending again cannot
  make a second copy.
- `InDoubt`: the connection was lost or timed out while the message was being handed over,
  after the server had been sent all or part of it and before it answered. The server may
  have kept it; sending again may make a second copy, under the same Message-ID.
"""

from __future__ import annotations

from collections.abc import Sequence

import aiosmtplib

FAILURES = (aiosmtplib.SMTPException, OSError, TimeoutError)


class SendFailed(Exception):
    """A send that did not end with the server's acceptance."""


class NotTaken(SendFailed):
    """The server certainly does not have the mail."""


class InDoubt(SendFailed):
    """The server may or may not have the mail."""


class MailTransport:
    """One SMTP connection, reopened when it drops."""

    def __init__(self, host: str, port: int, *, timeout: float = 10.0) -> None:
        self._host, self._port, self._timeout = host, port, timeout
        self._smtp: aiosmtplib.SMTP | None = None

    async def _connection(self) -> aiosmtplib.SMTP:
        if self._smtp is None or not self._smtp.is_connected:
            smtp = aiosmtplib.SMTP(
                hostname=self._host, port=self._port, timeout=self._timeout, start_tls=False
            )
            await smtp.connect()
            self._smtp = smtp
        return self._smtp

    async def send(self, sender: str, recipients: Sequence[str], message: bytes) -> dict[str, str]:
        """One SMTP transaction for every recipient; returns once the server has taken the mail,
        with the recipients it refused (and its answer to each): those do not have it."""
        refused: dict[str, str] = {}
        try:
            smtp = await self._connection()
            await smtp.mail(sender)
            for recipient in recipients:
                try:
                    await smtp.rcpt(recipient)
                except aiosmtplib.SMTPRecipientRefused as err:
                    refused[recipient] = f"{err.code} {err.message}"
        except FAILURES as err:
            await self.reset()
            raise NotTaken(str(err) or type(err).__name__) from err
        if len(refused) == len(recipients):
            await self.reset()
            raise NotTaken("; ".join(f"{r}: {why}" for r, why in refused.items()))
        try:
            await smtp.data(message)
        except aiosmtplib.SMTPResponseException as err:
            await self.reset()
            raise NotTaken(f"{err.code} {err.message}") from err
        except FAILURES as err:
            await self.reset()
            raise InDoubt(str(err) or type(err).__name__) from err
        return refused

    async def reset(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None
