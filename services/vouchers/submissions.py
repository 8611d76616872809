"""Submissions as the vouchers service reads them: decoded, dead-lettered when no dossier id
can be read, then checked (signatures and intake rules), a large batch in a worker thread."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from services.vouchers import domain, investment
from services.vouchers.signatures import CertificateChecker, findings_for
from shared.consumer import Incoming, Item
from shared.contract import (
    Envelope,
    InvestmentSubmitted,
    PayloadRejectedError,
    Reason,
    VoucherSubmitted,
    parse_payload,
)
from shared.contract.bounds import readable_code, readable_id, unreadable_id
from shared.contract.deadlines import WorkingCalendar, investment_deadline, voucher_deadline
from shared.contract.directory import DirectoryEntry
from shared.contract.enums import DossierKind, EventType
from shared.outbound import DeadLetter
from shared.signing import content_digest_or
from shared.status import rejection_reasons


@dataclass
class Submission:
    envelope: Envelope
    message: Incoming
    dossier_id: str
    unit_code: str
    content_hash: str
    voucher: VoucherSubmitted | InvestmentSubmitted | None
    rejected_for: list[Reason] = field(default_factory=list)

    @property
    def kind(self) -> str:
        investment = self.envelope.event_type == EventType.INVESTMENT_SUBMITTED
        return DossierKind.INVESTMENT if investment else DossierKind.VOUCHER


def read(items: Sequence[Item]) -> tuple[list[Submission], list[DeadLetter]]:
    """Each message with a dossier id that can be recorded becomes a submission (refused ones
    too, so that the portal learns why); the others are dead-lettered with the reason."""
    submissions, dead = [], []
    for envelope, message in items:
        raw = envelope.payload
        dossier_id = readable_id(raw.get("dossier_id"))
        if dossier_id is None:
            problem = unreadable_id("dossier_id", raw.get("dossier_id"))
            dead.append(DeadLetter(message, f"{envelope.event_type}: {problem}"))
            continue
        try:
            voucher: VoucherSubmitted | InvestmentSubmitted | None
            if envelope.event_type == EventType.INVESTMENT_SUBMITTED:
                voucher = parse_payload(envelope, InvestmentSubmitted)
            else:
                voucher = parse_payload(envelope, VoucherSubmitted)
            rejected: list[Reason] = []
        except PayloadRejectedError as err:
            voucher, rejected = None, rejection_reasons(err)
        submissions.append(
            Submission(
                envelope,
                message,
                dossier_id,
                readable_code(raw.get("unit_code")),
                content_digest_or(raw, fallback=message.value or b""),
                voucher,
                rejected,
            )
        )
    return submissions, dead


def check_all(
    submissions: Sequence[Submission],
    entries: dict[str, DirectoryEntry],
    now: dt.datetime,
    *,
    checker: CertificateChecker,
    rules: domain.IntakeRules,
) -> None:
    """Signatures and rules; CPU-bound, so a large batch's run in a worker thread."""
    for s in submissions:
        if s.voucher is None:
            continue
        entry = entries.get(s.unit_code)
        findings = findings_for(s.voucher, s.envelope.payload, entry, checker)
        if isinstance(s.voucher, InvestmentSubmitted):
            s.rejected_for = investment.check(
                s.voucher, entry=entry, findings=findings, received_at=now, rules=rules
            )
        else:
            s.rejected_for = domain.check(
                s.voucher, entry=entry, findings=findings, received_at=now, rules=rules
            )


def deadline(s: Submission, now: dt.datetime, *, calendar: WorkingCalendar) -> dt.datetime:
    if isinstance(s.voucher, InvestmentSubmitted):
        return investment_deadline(now, advance=s.voucher.is_advance, calendar=calendar)
    return voucher_deadline(now, calendar=calendar)
