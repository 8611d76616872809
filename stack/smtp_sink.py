"""The local SMTP server's handler: every message accepted is kept, as received, in a maildir.

aiosmtpd's own `Mailbox` handler parses each message into an `email.message.Message` and
writes it back out, which costs a few milliseconds of CPU per mail: more than notify spends
sending it. This one writes the bytes it received, with the envelope in the same headers
`Mailbox` adds (`X-Peer`, `X-MailFrom`, `X-RcptTo`), placed first; lines end in `\\n`, as
`Mailbox` writes them.

    python -m aiosmtpd -n -l 127.0.0.1:1025 -c stack.smtp_sink.RawMaildir var/mail
"""

from __future__ import annotations

import mailbox
import os
from argparse import ArgumentParser
from typing import Any


class RawMaildir:
    def __init__(self, mail_dir: os.PathLike[str] | str) -> None:
        self.mailbox = mailbox.Maildir(mail_dir)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode()
        envelope_headers = (
            f"X-Peer: {session.peer}\n"
            f"X-MailFrom: {envelope.mail_from}\n"
            f"X-RcptTo: {', '.join(envelope.rcpt_tos)}\n"
        ).encode()
        self.mailbox.add(envelope_headers + content.replace(b"\r\n", b"\n"))
        return "250 OK"

    @classmethod
    def from_cli(cls, parser: ArgumentParser, *args: str) -> RawMaildir:
        if len(args) != 1:
            parser.error("RawMaildir takes one argument: the maildir")
        return cls(args[0])
