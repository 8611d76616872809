"""What the support service publishes, built from its rows: a request's statuses
(`dvc.status.v1`, `dossier_kind` `support`) and, for notify, what its emails say
(`support.notice`), each with a new event id and the injected clock's time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from services.support import db, domain
from shared.contract import Reason, encode, make_envelope
from shared.contract.directory import DirectoryEntry
from shared.contract.enums import DossierKind, Status
from shared.contract.internal import SUPPORT_NOTICE, SupportNotice, SupportNoticeKind
from shared.messaging import Outgoing
from shared.status import status_message

if TYPE_CHECKING:
    from services.support.handlers import Deps

SOURCE = "support"


def status(
    deps: Deps,
    r: db.Request,
    status: Status,
    sequence: int,
    reasons: Sequence[Reason] = (),
    decided_by: str | None = None,
) -> Outgoing:
    return status_message(
        topic=deps.topics.status,
        source=SOURCE,
        event_id=deps.new_id(),
        occurred_at=deps.clock(),
        dossier_id=r.request_id,
        dossier_kind=DossierKind.SUPPORT,
        unit_code=r.unit_code,
        status=status,
        sequence=sequence,
        reasons=reasons,
        deadline=r.deadline if status is Status.RECEIVED else None,
        decided_by=decided_by,
    )


def notice(deps: Deps, notice: SupportNotice) -> Outgoing:
    envelope = make_envelope(
        notice.model_dump(mode="json"),
        event_type=SUPPORT_NOTICE,
        event_id=deps.new_id(),
        occurred_at=deps.clock(),
        source=SOURCE,
    )
    return Outgoing(
        topic=deps.topics.support_notices, key=notice.unit_code.encode(), value=encode(envelope)
    )


def reply_notice(
    request: db.Request, answer: domain.Reply, entry: DirectoryEntry | None
) -> SupportNotice:
    return SupportNotice(
        request_id=request.request_id,
        kind=SupportNoticeKind.REPLY,
        number=answer.number,
        unit_code=request.unit_code,
        unit_name=entry.name if entry else request.unit_code,
        treasury_code=request.treasury_code,
        category=request.category,
        subject=request.subject,
        message=answer.message,
        status=answer.status.value,
        dossier_id=request.dossier_id,
        officer=answer.officer,
        at=answer.at,
        recipients=tuple(domain.recipients(request.contact_email, entry)),
    )
