"""The counts of a chaos run: each is a promise of the pipeline, and each must be zero."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from chaos.cluster import Cluster
from chaos.observe import Mailbox, StatusLog, Webhook
from chaos.workload import Kind, LineKey, Workload

DUPLICATE_MODIFIED = "DUPLICATE_MODIFIED"


@dataclass(frozen=True)
class Count:
    name: str
    value: int
    examples: list[str]
    what: str


def _is_modified_rejection(event: dict[str, Any]) -> bool:
    codes = {r.get("code") for r in event.get("reasons") or []}
    return event["status"] == "rejected" and DUPLICATE_MODIFIED in codes


def _sequences(log: StatusLog, dossier: str) -> tuple[bool, bool]:
    """(a sequence maps to two statuses, the sequences have a gap)."""
    seen: dict[int, set[str]] = defaultdict(set)
    for e in log.by_dossier.get(dossier, []):
        seen[e["sequence"]].add(
            f"{e['status']}{sorted(r.get('code') for r in e.get('reasons') or [])}"
        )
    clash = any(len(v) > 1 for v in seen.values())
    gap = bool(seen) and sorted(seen) != list(range(1, max(seen) + 1))
    return clash, gap


def count(
    work: Workload,
    log: StatusLog,
    mail: Mailbox,
    hook: Webhook,
    cluster: Cluster,
    lines: dict[LineKey, tuple[int, int]],
    accepted: dict[str, dict[LineKey, int]],
) -> list[Count]:
    """`lines`: each budget line's (allocated, committed); `accepted`: for each dossier, what
    the content the pipeline accepted asks of each line (a resubmission that overtook its
    original, when a portal retried, is the accepted one)."""
    readable = work.dossiers(*Kind)
    lost, doubled, clashes, gaps = [], [], [], []
    for dossier in sorted(readable):
        events = log.by_dossier.get(dossier, [])
        finals = {
            (e["sequence"], e["status"])
            for e in events
            if e["status"] in {"rejected", "approved", "refused", "returned"}
            and not _is_modified_rejection(e)
        }
        if not finals:
            lost.append(dossier)
        if len({status for _, status in finals}) > 1 or len(finals) > 1:
            doubled.append(f"{dossier}: {sorted(finals)}")
        clash, gap = _sequences(log, dossier)
        if clash:
            clashes.append(dossier)
        if gap:
            gaps.append(f"{dossier}: {sorted({e['sequence'] for e in events})}")
    over, drift = [], []
    approved = {d for d in accepted if any(s == "approved" for _, s in log.terminal(d))}
    expected: Counter[LineKey] = Counter()
    for dossier in approved:
        expected.update(accepted[dossier])
    for key, (allocated, committed) in sorted(lines.items()):
        if committed > allocated:
            over.append(f"{key}: committed {committed} > allocated {allocated}")
        if committed != expected.get(key, 0):
            drift.append(f"{key}: committed {committed}, approvals sum {expected.get(key, 0)}")
    recipients = work.recipients()
    unit_of = {o.dossier_id: o.unit_code for o in work.offered if o.dossier_id}
    due = {
        (dossier, status, r)
        for dossier in readable
        for _, status in log.terminal(dossier)
        for r in recipients[unit_of[dossier]]
    }
    missing = sorted(f"{d} {s} → {r}" for d, s, r in due - set(mail.notices))
    duplicates = sorted(
        f"{key}: {len(set(ids))} Message-IDs"
        for key, ids in mail.notices.items()
        if len(set(ids)) > 1
    )
    published = {(d, e["sequence"]) for d in readable for e in log.by_dossier.get(d, [])}
    hooks_missing = sorted(f"{d}#{s}" for d, s in published - set(hook.calls))
    unsigned = sorted(f"{d}#{s}" for (d, s), v in hook.calls.items() if not all(v))
    forged = sorted(
        d for d in work.dossiers(Kind.FORGED) if any(s == "approved" for _, s in log.terminal(d))
    )
    died = [f"{d.name} (exit {d.code})" for d in cluster.deaths]
    return [
        Count("lost dossiers", len(lost), lost[:5], "a readable dossier with no terminal status"),
        Count("two terminal statuses", len(doubled), doubled[:5], "a dossier decided twice"),
        Count(
            "sequence clashes", len(clashes), clashes[:5], "one (dossier, sequence), two statuses"
        ),
        Count("sequence gaps", len(gaps), gaps[:5], "a dossier's sequences are not 1, 2, 3…"),
        Count("lines over allocation", len(over), over[:5], "committed above allocated"),
        Count("committed ≠ approvals", len(drift), drift[:5], "a line's committed differs"),
        Count("duplicate emails", len(duplicates), duplicates[:5], "two notices, two Message-IDs"),
        Count("due notices missing", len(missing), missing[:5], "a unit's notice never arrived"),
        Count("webhooks missing", len(hooks_missing), hooks_missing[:5], "a status not POSTed"),
        Count("webhooks unsigned", len(unsigned), unsigned[:5], "a bad X-Signature"),
        Count("forged vouchers approved", len(forged), forged[:5], "a forgery passed"),
        Count("services died unscheduled", len(died), died[:5], "a death not in the schedule"),
    ]


def copies(mail: Mailbox) -> int:
    """Mails received more than once under the same Message-ID (resent after a crash)."""
    return sum(len(ids) - len(set(ids)) for ids in mail.notices.values())
