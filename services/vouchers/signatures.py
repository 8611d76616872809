"""Checking a voucher's signatures against the certificates registered for its unit.

CPU work only (RFC 8785 canonicalisation, RSA/ECDSA verification, certificate chains), run off
the event loop by the handler. Certificates are parsed once per serial and chain checks are
remembered per (serial, day).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from cryptography import x509

from services.vouchers.domain import CHIEF_SIDE, HOLDER_SIDE, SignatureFinding
from shared.contract import InvestmentSubmitted, VoucherSubmitted
from shared.contract.directory import DirectoryEntry
from shared.signing import (
    TrustStore,
    check_certificate,
    load_certificate,
    signing_input,
    verify_signing_input,
)

ICT = dt.timezone(dt.timedelta(hours=7))
_SIDE = {**dict.fromkeys(CHIEF_SIDE, "chief"), **dict.fromkeys(HOLDER_SIDE, "holder")}


class CertificateChecker:
    """Parses and checks registered certificates, remembering what it has already done."""

    def __init__(self, trust: TrustStore, *, limit: int = 100_000) -> None:
        self._trust = trust
        self._limit = limit
        self._certificates: dict[str, x509.Certificate] = {}
        self._checked: dict[tuple[str, dt.date], str | None] = {}

    def certificate(self, serial: str, pem: str) -> x509.Certificate:
        cert = self._certificates.get(serial)
        if cert is None:
            if len(self._certificates) >= self._limit:
                self._certificates.clear()
            cert = self._certificates[serial] = load_certificate(pem)
        return cert

    def problem_on(self, serial: str, pem: str, day: dt.date) -> str | None:
        """Why the certificate cannot sign on `day` (noon, Vietnam time), or None."""
        key = (serial, day)
        if key not in self._checked:
            if len(self._checked) >= self._limit:
                self._checked.clear()
            at = dt.datetime.combine(day, dt.time(12), ICT)
            found = check_certificate(self.certificate(serial, pem), trust=self._trust, at=at)
            self._checked[key] = "; ".join(found) if found else None
        return self._checked[key]


def findings_for(
    voucher: VoucherSubmitted | InvestmentSubmitted,
    raw_payload: Mapping[str, Any],
    entry: DirectoryEntry | None,
    checker: CertificateChecker,
) -> dict[int, SignatureFinding]:
    """One finding per signature whose role counts for the chief or holder side."""
    if entry is None:
        return {}
    data: bytes | None = None
    findings: dict[int, SignatureFinding] = {}
    for i, signature in enumerate(voucher.signatures):
        if signature.role not in _SIDE:
            continue
        signer = entry.signer_by_serial(signature.certificate_serial)
        if signer is None or signer.role != signature.role:
            findings[i] = SignatureFinding(
                i,
                f"Chứng thư {signature.certificate_serial} không được đăng ký cho đơn vị với "
                f"vai trò {signature.role.value} (certificate not registered for this role)",
                verified=False,
            )
            continue
        cert_problem = checker.problem_on(
            signer.certificate_serial, signer.certificate_pem, voucher.voucher_date
        )
        if cert_problem is not None:
            findings[i] = SignatureFinding(
                i,
                f"Chứng thư số không hợp lệ ngày {voucher.voucher_date} "
                f"(certificate not valid on the voucher date): {cert_problem}",
                verified=False,
            )
            continue
        if data is None:
            data = signing_input(raw_payload)
        cert = checker.certificate(signer.certificate_serial, signer.certificate_pem)
        ok = verify_signing_input(
            data, signature.value, certificate=cert, algorithm=signature.algorithm
        )
        findings[i] = SignatureFinding(i, None, ok)
    return findings
