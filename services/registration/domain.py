"""Registration rules (docs/domain.md "Registration of a unit", docs/contract.md §3.1): pure.

`check` lists every problem of a registration, not only the first; `apply` gives the unit's
directory entry once a registration is approved. Time comes in as an argument.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from shared import codes
from shared.contract import Reason, ReasonCode, RegistrationSubmitted, SignerRole
from shared.contract.directory import DirectoryAccount, DirectoryEntry, DirectorySigner
from shared.contract.enums import RequestType
from shared.signing import (
    TrustStore,
    check_certificate,
    load_certificate,
    serial_hex,
    signing_input,
    verify_signing_input,
)

HOLDER_ROLES = (SignerRole.ACCOUNT_HOLDER, SignerRole.ACCOUNT_HOLDER_DEPUTY)
REQUIRED_FOR_NEW = (SignerRole.ACCOUNT_HOLDER, SignerRole.CHIEF_ACCOUNTANT)


@dataclass(frozen=True)
class Problem:
    code: ReasonCode
    field: str | None
    message: str

    def reason(self) -> Reason:
        return Reason(code=self.code.value, field=self.field, message=self.message)


def _signer_record(signer_index: int, reg: RegistrationSubmitted) -> DirectorySigner:
    signer = reg.signers[signer_index]
    cert = load_certificate(signer.certificate_pem)
    public_key = cert.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return DirectorySigner(
        role=signer.role,
        full_name=signer.full_name,
        title=signer.title,
        email=signer.email,
        certificate_serial=serial_hex(cert),
        certificate_pem=signer.certificate_pem,
        public_key_pem=public_key.decode(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
    )


def _code_problems(reg: RegistrationSubmitted) -> list[Problem]:
    checks: list[tuple[str, str | None]] = [
        ("unit.code", codes.unit_code(reg.unit.code)),
        ("unit.chapter", codes.chapter(reg.unit.chapter)),
        ("treasury_code", codes.treasury(reg.treasury_code)),
    ]
    if reg.unit.budget_level is not None:
        checks.append(("unit.budget_level", codes.budget_level(reg.unit.budget_level)))
    if reg.unit.parent_code:
        checks.append(("unit.parent_code", codes.unit_code(reg.unit.parent_code)))
    for i, account in enumerate(reg.accounts):
        if not account.account_no.strip():
            checks.append(
                (f"accounts[{i}].account_no", "số tài khoản trống (account number empty)")
            )
    return [Problem(ReasonCode.CODE_INVALID, f, m) for f, m in checks if m is not None]


def _unit_problems(reg: RegistrationSubmitted, existing: DirectoryEntry | None) -> list[Problem]:
    kind = reg.request_type
    if kind is RequestType.NEW:
        if existing is not None and existing.status != "closed":
            return [
                Problem(
                    ReasonCode.UNIT_ALREADY_REGISTERED,
                    "unit.code",
                    f"Đơn vị {reg.unit.code} đã đăng ký (unit already registered)",
                )
            ]
        return []
    if existing is None or existing.status == "closed":
        return [
            Problem(
                ReasonCode.UNIT_UNKNOWN,
                "unit.code",
                f"Đơn vị {reg.unit.code} chưa đăng ký (unit not registered)",
            )
        ]
    problems = []
    if existing.treasury_code != reg.treasury_code:
        problems.append(
            Problem(
                ReasonCode.TREASURY_MISMATCH,
                "treasury_code",
                f"Đơn vị giao dịch tại KBNN {existing.treasury_code}, "
                f"không phải {reg.treasury_code} (unit is registered at another treasury office)",
            )
        )
    if existing.status == "suspended" and kind is not RequestType.CLOSE:
        problems.append(
            Problem(
                ReasonCode.UNIT_SUSPENDED,
                "unit.code",
                f"Đơn vị {reg.unit.code} đang bị tạm dừng (unit suspended)",
            )
        )
    return problems


def _signer_set_problems(reg: RegistrationSubmitted) -> list[Problem]:
    roles = {s.role for s in reg.signers}
    if reg.request_type is RequestType.NEW:
        return [
            Problem(
                ReasonCode.SIGNER_MISSING,
                "signers",
                f"Thiếu người ký vai trò {role.value} (a new registration names a {role.value})",
            )
            for role in REQUIRED_FOR_NEW
            if role not in roles
        ]
    if reg.request_type is RequestType.CHANGE_SIGNERS and not reg.signers:
        return [
            Problem(
                ReasonCode.SIGNER_MISSING,
                "signers",
                "Đề nghị thay đổi người ký không có người ký nào (no signer named)",
            )
        ]
    return []


def _certificate_problems(
    reg: RegistrationSubmitted, *, trust: TrustStore, now: dt.datetime
) -> tuple[list[Problem], dict[str, x509.Certificate]]:
    problems: list[Problem] = []
    holders: dict[str, x509.Certificate] = {}
    for i, signer in enumerate(reg.signers):
        field = f"signers[{i}].certificate_pem"
        try:
            cert = load_certificate(signer.certificate_pem)
        except ValueError as err:
            problems.append(
                Problem(
                    ReasonCode.CERTIFICATE_INVALID,
                    field,
                    f"Chứng thư số không đọc được (unreadable certificate): {err}",
                )
            )
            continue
        found = check_certificate(cert, trust=trust, at=now)
        if found:
            problems.append(
                Problem(
                    ReasonCode.CERTIFICATE_INVALID,
                    field,
                    "Chứng thư số không hợp lệ (invalid certificate): " + "; ".join(found),
                )
            )
        elif signer.role in HOLDER_ROLES:
            holders[serial_hex(cert)] = cert
    return problems, holders


def _signature_problems(
    reg: RegistrationSubmitted,
    raw_payload: Mapping[str, Any],
    *,
    carried_holders: Mapping[str, x509.Certificate],
    existing: DirectoryEntry | None,
) -> list[Problem]:
    holder_signatures = [(i, s) for i, s in enumerate(reg.signatures) if s.role in HOLDER_ROLES]
    if not holder_signatures:
        return [
            Problem(
                ReasonCode.SIGNATURE_MISSING,
                "signatures",
                "Thiếu chữ ký của chủ tài khoản (the account holder's signature is missing)",
            )
        ]
    registered: dict[str, x509.Certificate] = {}
    if existing is not None and reg.request_type is not RequestType.NEW:
        for signer in existing.signers:
            if signer.role in HOLDER_ROLES:
                registered[signer.certificate_serial] = load_certificate(signer.certificate_pem)
    data = signing_input(raw_payload)
    problems = []
    for i, signature in holder_signatures:
        cert = carried_holders.get(signature.certificate_serial) or registered.get(
            signature.certificate_serial
        )
        if cert is None:
            problems.append(
                Problem(
                    ReasonCode.CERTIFICATE_INVALID,
                    f"signatures[{i}].certificate_serial",
                    f"Chứng thư {signature.certificate_serial} không phải của chủ tài khoản "
                    "trong hồ sơ (not a valid account holder certificate of this registration)",
                )
            )
        elif not verify_signing_input(
            data, signature.value, certificate=cert, algorithm=signature.algorithm
        ):
            problems.append(
                Problem(
                    ReasonCode.SIGNATURE_INVALID,
                    f"signatures[{i}].value",
                    "Chữ ký số không khớp nội dung hồ sơ (signature does not verify)",
                )
            )
    return problems


def check(
    reg: RegistrationSubmitted,
    raw_payload: Mapping[str, Any],
    *,
    existing: DirectoryEntry | None,
    trust: TrustStore,
    now: dt.datetime,
) -> list[Problem]:
    """Every reason to reject `reg`; empty when it may go on to approval."""
    cert_problems, holders = _certificate_problems(reg, trust=trust, now=now)
    return [
        *_code_problems(reg),
        *_unit_problems(reg, existing),
        *_signer_set_problems(reg),
        *cert_problems,
        *_signature_problems(reg, raw_payload, carried_holders=holders, existing=existing),
    ]


def apply(
    reg: RegistrationSubmitted, existing: DirectoryEntry | None, *, now: dt.datetime
) -> DirectoryEntry:
    """The unit's directory entry after an approved registration."""
    signers = tuple(_signer_record(i, reg) for i in range(len(reg.signers)))
    accounts = tuple(DirectoryAccount(account_no=a.account_no, kind=a.kind) for a in reg.accounts)
    if reg.request_type is RequestType.NEW or existing is None:
        return DirectoryEntry(
            unit_code=reg.unit.code,
            name=reg.unit.name,
            treasury_code=reg.treasury_code,
            chapter=reg.unit.chapter,
            budget_level=reg.unit.budget_level,
            status="active",
            accounts=accounts,
            signers=signers,
            notify_emails=reg.notify_emails,
            version=(existing.version + 1) if existing else 1,
            updated_at=now,
        )
    changes: dict[str, Any] = {"version": existing.version + 1, "updated_at": now}
    if reg.request_type is RequestType.CHANGE_SIGNERS:
        replaced = {s.role for s in signers}
        kept = tuple(s for s in existing.signers if s.role not in replaced)
        changes["signers"] = kept + signers
        if reg.notify_emails:
            changes["notify_emails"] = reg.notify_emails
    elif reg.request_type is RequestType.ADD_ACCOUNT:
        known = {a.account_no for a in existing.accounts}
        changes["accounts"] = existing.accounts + tuple(
            a for a in accounts if a.account_no not in known
        )
    elif reg.request_type is RequestType.CLOSE:
        changes["status"] = "closed"
    return existing.model_copy(update=changes)


def set_status(entry: DirectoryEntry, status: str, *, now: dt.datetime) -> DirectoryEntry:
    """Suspend or reinstate a unit."""
    return entry.model_copy(
        update={"status": status, "version": entry.version + 1, "updated_at": now}
    )


def reasons_of(problems: Sequence[Problem]) -> list[Reason]:
    return [p.reason() for p in problems]
