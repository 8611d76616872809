"""Signer certificates: loading, serials, the trust store and the checks a signer's
certificate must pass (chain to a trusted CA, validity, key usage, key strength)."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, rsa

MIN_RSA_BITS: Final = 2048
MAX_CHAIN_DEPTH: Final = 8

E = TypeVar("E", bound=x509.ExtensionType)


def load_certificate(pem: str | bytes) -> x509.Certificate:
    """The first certificate of a PEM text; raises `ValueError` if there is none."""
    return x509.load_pem_x509_certificate(pem.encode("ascii") if isinstance(pem, str) else pem)


def load_certificates(pem: str | bytes) -> list[x509.Certificate]:
    """Every certificate of a PEM bundle; raises `ValueError` if there is none."""
    return x509.load_pem_x509_certificates(pem.encode("ascii") if isinstance(pem, str) else pem)


def serial_hex(certificate: x509.Certificate) -> str:
    """The serial as the contract writes it: lower-case hex, no `0x`, colons or leading 0."""
    return format(certificate.serial_number, "x")


def normalize_serial(text: str) -> str:
    """Bring a serial written another way (`0x…`, `1A:2B`, leading zeros) to `serial_hex` form."""
    digits = text.strip().lower().replace(":", "").replace(" ", "").removeprefix("0x")
    return digits.lstrip("0") or "0"


@dataclass(frozen=True, slots=True)
class TrustStore:
    """The CAs whose certificates may sign (`TRUSTED_CA_FILE`); every CA here is trusted,
    so an intermediate present in the store is an anchor in its own right."""

    certificates: tuple[x509.Certificate, ...]

    @classmethod
    def from_pem_bytes(cls, data: bytes) -> TrustStore:
        return cls(tuple(load_certificates(data)))

    @classmethod
    def from_pem_file(cls, path: str | os.PathLike[str]) -> TrustStore:
        with open(path, "rb") as bundle:
            return cls.from_pem_bytes(bundle.read())

    def issuers_of(self, certificate: x509.Certificate) -> list[x509.Certificate]:
        return [ca for ca in self.certificates if ca.subject == certificate.issuer]


def check_certificate(
    certificate: x509.Certificate, *, trust: TrustStore, at: dt.datetime
) -> list[str]:
    """Problems that keep `certificate` from signing at instant `at`; empty if none.

    `at` must be timezone-aware.
    """
    if at.tzinfo is None:
        raise ValueError("`at` must be timezone-aware")
    problems = _validity_problems(certificate, at, "certificate")
    problems += _key_problems(certificate)
    usage = _extension(certificate, x509.KeyUsage)
    if usage is not None and not (usage.digital_signature or usage.content_commitment):
        problems.append("key usage allows neither digitalSignature nor contentCommitment")
    problems += _chain_problems(certificate, trust, at, depth=0)
    return problems


def _extension(certificate: x509.Certificate, kind: type[E]) -> E | None:
    try:
        return certificate.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _name(certificate: x509.Certificate) -> str:
    return certificate.subject.rfc4514_string()


def _validity_problems(certificate: x509.Certificate, at: dt.datetime, what: str) -> list[str]:
    if at < certificate.not_valid_before_utc:
        return [f"{what} not valid before {certificate.not_valid_before_utc.isoformat()}"]
    if at > certificate.not_valid_after_utc:
        return [f"{what} expired at {certificate.not_valid_after_utc.isoformat()}"]
    return []


def _key_problems(certificate: x509.Certificate) -> list[str]:
    try:
        key = certificate.public_key()
    except (ValueError, TypeError) as exc:
        return [f"unreadable public key: {exc}"]
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            return [f"RSA key of {key.key_size} bits is shorter than {MIN_RSA_BITS}"]
        return []
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            return [f"EC key on {key.curve.name} is not P-256"]
        return []
    return [f"unsupported key type {type(key).__name__}"]


def _issuer_problems(
    certificate: x509.Certificate, issuer: x509.Certificate, at: dt.datetime
) -> list[str]:
    constraints = _extension(issuer, x509.BasicConstraints)
    if constraints is None or not constraints.ca:
        return [f"issuer {_name(issuer)} is not a CA"]
    usage = _extension(issuer, x509.KeyUsage)
    if usage is not None and not usage.key_cert_sign:
        return [f"issuer {_name(issuer)} may not sign certificates"]
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return [f"signature by issuer {_name(issuer)} does not verify"]
    return _validity_problems(issuer, at, f"issuer {_name(issuer)}")


def _chain_problems(
    certificate: x509.Certificate, trust: TrustStore, at: dt.datetime, *, depth: int
) -> list[str]:
    if depth >= MAX_CHAIN_DEPTH:
        return ["certificate chain is too long"]
    candidates = trust.issuers_of(certificate)
    if not candidates:
        return [f"issuer {certificate.issuer.rfc4514_string()} is not a trusted CA"]
    problems: list[str] = []
    # Several CAs may share a name (key rollover): any one that verifies is enough.
    for issuer in candidates:
        found = _issuer_problems(certificate, issuer, at)
        if not found:
            if issuer.issuer == issuer.subject or not trust.issuers_of(issuer):
                return []
            found = _chain_problems(issuer, trust, at, depth=depth + 1)
            if not found:
                return []
        problems += found
    return problems


def load_trust_store(path: Path | None) -> TrustStore:
    """The CAs whose certificates may sign, from `TRUSTED_CA_FILE`; a service that checks
    signatures cannot start without them."""
    if path is None:
        raise SystemExit(
            "TRUSTED_CA_FILE is not set: the PEM bundle of the CAs that may sign. Against the "
            "local stack, `python -m stack env` prints it and the other variables to set."
        )
    try:
        return TrustStore.from_pem_file(path)
    except (OSError, ValueError) as err:
        raise SystemExit(f"TRUSTED_CA_FILE {path} cannot be used: {err}") from None
