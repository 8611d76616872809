"""Notify's mail against a real SMTP server (aiosmtpd) that refuses some addresses: one
transaction for all the recipients of a notice, and what a refusal means for each."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from services.notify.render import Rendered, email_message
from services.notify.smtp import MailTransport, NotTaken
from stack.runner import Endpoints
from tests.notify.conftest import OFFICE, Notify, Receiver, Sink
from tests.support import API_KEY, Namespace, Producer, ServiceProcess, free_port, poll, service_env


class RefusingServer:
    """Accepts mail for every address but those it was told to refuse (550 at RCPT)."""

    def __init__(self, refused: set[str]) -> None:
        self.refused = refused
        self.transactions: list[tuple[list[str], bytes]] = []

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        self.transactions.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 Message accepted for delivery"


@pytest.fixture
def server() -> Iterator[tuple[RefusingServer, int]]:
    handler = RefusingServer({"gone@example.vn"})
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def _mail(recipients: list[str]) -> bytes:
    return email_message(
        sender="no-reply@kbnn.gov.vn",
        recipients=recipients,
        rendered=Rendered("Hồ sơ CT-1 đã được chấp thuận", "Kính gửi", "<p>Kính gửi</p>"),
        message_id="<ct-1-approved@dvc.kbnn.gov.vn>",
    )


async def test_one_transaction_reaches_every_accepted_recipient_and_names_the_refused(
    server: tuple[RefusingServer, int],
) -> None:
    handler, port = server
    transport = MailTransport("127.0.0.1", port)
    recipients = ["ketoan@example.vn", "gone@example.vn", "ktt@example.vn"]
    try:
        refused = await transport.send("no-reply@kbnn.gov.vn", recipients, _mail(recipients))
    finally:
        await transport.reset()
    assert set(refused) == {"gone@example.vn"}
    assert refused["gone@example.vn"].startswith("550")
    [(delivered_to, content)] = handler.transactions
    assert delivered_to == ["ketoan@example.vn", "ktt@example.vn"]
    assert b"Message-ID: <ct-1-approved@dvc.kbnn.gov.vn>" in content
    assert b"To: ketoan@example.vn, gone@example.vn, ktt@example.vn" in content


async def test_a_mail_whose_every_recipient_is_refused_is_not_taken(
    server: tuple[RefusingServer, int],
) -> None:
    handler, port = server
    transport = MailTransport("127.0.0.1", port)
    try:
        with pytest.raises(NotTaken, match=r"gone@example\.vn: 550"):
            await transport.send(
                "no-reply@kbnn.gov.vn", ["gone@example.vn"], _mail(["gone@example.vn"])
            )
        # The connection is reopened for the next mail.
        refused = await transport.send(
            "no-reply@kbnn.gov.vn", ["ketoan@example.vn"], _mail(["ketoan@example.vn"])
        )
    finally:
        await transport.reset()
    assert refused == {}
    assert [rcpts for rcpts, _ in handler.transactions] == [["ketoan@example.vn"]]


@pytest.fixture(scope="module")
def refusing_notify(
    stack: Endpoints, ca_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Notify, RefusingServer]]:
    """Notify sending to an SMTP server that refuses gone@example.vn."""
    root = tmp_path_factory.mktemp("notify-refusing")
    ns = Namespace()
    ns.create(stack.kafka_bootstrap_servers)
    handler = RefusingServer({"gone@example.vn"})
    smtp_port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    port = free_port()
    env = {
        **service_env(stack, ns, ca_file),
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "NOTIFY_PORT": str(port),
        "RETRY_MAX_SECONDS": "2",
    }
    service = ServiceProcess("notify", env, root / "notify.log", port)
    try:
        service.start(timeout=120)
        yield Notify(stack, ns, Sink(root), service, Receiver()), handler
    finally:
        service.stop()
        controller.stop()


async def test_a_refused_recipient_is_retried_alone_and_the_others_get_one_mail(
    refusing_notify: tuple[Notify, RefusingServer],
) -> None:
    notify, handler = refusing_notify
    async with Producer(notify.stack.kafka_bootstrap_servers) as producer:
        unit = await notify.unit(
            producer, recipients=("ketoan@example.vn", "gone@example.vn"), signer_emails=False
        )
        dossier = f"CT-{OFFICE}-2026-{uuid.uuid4().int % 10**8:08d}"
        await notify.status(producer, unit, dossier, "approved", 2)

    def deliveries() -> dict[str, dict[str, Any]]:
        answer = httpx.get(
            f"{notify.service.url}/notifications",
            params={"dossier_id": dossier},
            headers={"X-API-Key": API_KEY},
        )
        return {d["recipient"]: d for d in answer.json() if d["channel"] == "email"}

    seen = await poll(
        deliveries,
        lambda d: (
            d.get("gone@example.vn", {}).get("attempts", 0) >= 2
            and d.get("ketoan@example.vn", {}).get("status") == "sent"
        ),
        what="ketoan@ sent and gone@ tried twice (the deliveries of the dossier)",
    )
    gone = seen["gone@example.vn"]
    assert gone["status"] == "pending"
    assert "550" in gone["last_error"]
    assert seen["ketoan@example.vn"]["message_id"] == gone["message_id"]
    # One mail reached ketoan@, once; the retries of gone@ went alone and were refused.
    assert [rcpts for rcpts, _ in handler.transactions] == [["ketoan@example.vn"]]
