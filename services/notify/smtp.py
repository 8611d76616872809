"""Sending one mail in two steps, so the ledger can say "sent" before the server has the mail.

A mail is staged (MAIL, RCPT, DATA and the whole message) but not ended; the caller commits
"sent" to the ledger, then ends the message with the final dot. A crash before the commit
leaves the server with an unfinished message, which it discards, and the ledger with a
pending delivery, which is sent again; a crash after it leaves a sent mail. Only the moment
between the commit and writing three bytes is unprotected, where a plain send-then-record
would leave the whole SMTP exchange unprotected against sending twice.
"""

from __future__ import annotations

import aiosmtplib
from aiosmtplib.errors import SMTPDataError
from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings

START_INPUT = 354
COMPLETED = 250


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

    async def stage(self, sender: str, recipient: str, message: bytes) -> None:
        """Everything of the SMTP transaction except the final dot."""
        smtp = await self._connection()
        await smtp.mail(sender)
        await smtp.rcpt(recipient)
        protocol = smtp.protocol
        assert protocol is not None
        start = await protocol.execute_command(b"DATA", timeout=self._timeout)
        if start.code != START_INPUT:
            raise SMTPDataError(start.code, start.message)
        body = PERIOD_REGEX.sub(b"..", normalize_message_line_endings(message))
        protocol.write(body if body.endswith(b"\r\n") else body + b"\r\n")

    async def complete(self) -> None:
        """End the staged message; the server answers whether it has taken it."""
        assert self._smtp is not None
        assert self._smtp.protocol is not None
        protocol = self._smtp.protocol
        # Expect the reply before writing, as aiosmtplib does, so it is never "unsolicited".
        protocol._response_pending = True
        protocol.write(b".\r\n")
        response = await protocol.read_response(timeout=self._timeout)
        if response.code != COMPLETED:
            raise SMTPDataError(response.code, response.message)

    async def reset(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None
