"""Who is told what, and when (docs/contract.md §6): pure rules, no I/O.

Every notice has a key — (dossier, status or warning kind, recipient) — and the delivery
ledger holds at most one delivery per key, which is what keeps any crash or redelivery from
sending a mail twice. The recipients of one notice share its group — (dossier, kind) — and
with it one Message-ID: the same mail, sent to all of them in one SMTP transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from shared.contract.enums import TERMINAL_STATUSES, Status

# The offices file is shared with the workspace; re-exported for notify's own modules.
from shared.offices import Office as Office
from shared.offices import Staff as Staff
from shared.offices import TreasuryDirectory as TreasuryDirectory

# The unit is told every final outcome; all but an approval come as a notice with reasons.
UNIT_STATUSES = TERMINAL_STATUSES
NOTICE_STATUSES = TERMINAL_STATUSES - {Status.APPROVED}


@dataclass(frozen=True)
class Notice:
    """One email to write to the ledger."""

    key: str
    kind: str
    dossier_id: str
    recipient: str
    template: str
    context: dict[str, Any]

    @property
    def group(self) -> str:
        """The key without its recipient: what every recipient of this notice shares."""
        suffix = f"|{self.recipient.lower()}"
        if not self.key.endswith(suffix):
            raise ValueError(f"notice key {self.key!r} does not end with its recipient")
        return self.key[: -len(suffix)]


def notice_group(dossier_id: str, kind: str) -> str:
    return f"{dossier_id}|{kind}"


def notice_key(dossier_id: str, kind: str, recipient: str) -> str:
    return f"{notice_group(dossier_id, kind)}|{recipient.lower()}"


def message_id(group: str, domain: str = "dvc.kbnn.gov.vn") -> str:
    """A Message-ID derived from a notice's group: the same notice always has the same id,
    whichever of its recipients it goes to and however often it is sent."""
    return f"<{hashlib.sha256(group.encode()).hexdigest()[:40]}@{domain}>"


def webhook_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def warning_due(deadline: dt.datetime, now: dt.datetime, warn: dt.timedelta) -> str | None:
    """`overdue` once the deadline has passed, `deadline_warning` within `warn` of it."""
    if now >= deadline:
        return "overdue"
    if deadline - now <= warn:
        return "deadline_warning"
    return None


def retry_delay(attempts: int, cap: float) -> dt.timedelta:
    """Exponential backoff: 2, 4, 8 … seconds, at most `cap`."""
    return dt.timedelta(seconds=min(cap, 2.0 ** max(1, attempts)))
