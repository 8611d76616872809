"""Throwaway PKI: a CA and signer certificates for tests, demos and benchmarks.

Key generation dominates the cost (~50 ms for RSA-2048), so keys are cached per label for
the life of the process: asking again for the same CA or signer is free. P-256 keys are
derived from the label, so they are also the same from one run to the next.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from shared.contract import Algorithm, SignerRole
from shared.signing import PrivateKey, TrustStore, serial_hex, sign

DEFAULT_NOT_BEFORE: Final = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
DEFAULT_NOT_AFTER: Final = dt.datetime(2030, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
_P256_ORDER: Final = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_KEYS: dict[tuple[str, str], PrivateKey] = {}


def cached_key(label: str, algorithm: Algorithm) -> PrivateKey:
    """The private key for `label`: RSA-2048 for RS256, P-256 for ES256."""
    key = _KEYS.get((label, algorithm))
    if key is None:
        if algorithm == "ES256":
            secret = _label_int(f"key/{label}") % (_P256_ORDER - 1) + 1
            key = ec.derive_private_key(secret, ec.SECP256R1())
        else:
            # `cryptography` cannot seed RSA generation; the cache gives per-process stability.
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        _KEYS[(label, algorithm)] = key
    return key


def _label_int(label: str) -> int:
    return int.from_bytes(hashlib.sha256(label.encode()).digest(), "big")


def _serial_for(label: str) -> int:
    # 127 bits: positive, below the 20-byte limit, and stable for a label.
    return (_label_int(f"serial/{label}") >> 129) or 1


def _pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


@dataclass(frozen=True, slots=True)
class CertificateAuthority:
    name: str
    private_key: PrivateKey
    certificate: x509.Certificate
    certificate_pem: str
    parent: CertificateAuthority | None = None

    def pem_bundle(self) -> bytes:
        """This CA and its parents, as a TRUSTED_CA_FILE would hold them."""
        chain = self.certificate_pem + (self.parent.pem_bundle().decode() if self.parent else "")
        return chain.encode("ascii")

    def write_bundle(self, path: str | Path) -> Path:
        target = Path(path)
        target.write_bytes(self.pem_bundle())
        return target

    def trust_store(self) -> TrustStore:
        return TrustStore.from_pem_bytes(self.pem_bundle())


def make_ca(
    *,
    name: str = "KBNN Testkit Root CA",
    seed: int = 0,
    algorithm: Algorithm = "RS256",
    parent: CertificateAuthority | None = None,
    not_before: dt.datetime = DEFAULT_NOT_BEFORE - dt.timedelta(days=365),
    not_after: dt.datetime = DEFAULT_NOT_AFTER + dt.timedelta(days=365),
) -> CertificateAuthority:
    """A root CA, or an intermediate one when `parent` is given."""
    label = f"ca/{name}/{seed}"
    key = cached_key(label, algorithm)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Testkit"),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )
    issuer_key = parent.private_key if parent else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(parent.certificate.subject if parent else subject)
        .public_key(key.public_key())
        .serial_number(_serial_for(label))
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if parent:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(parent.private_key.public_key()),
            critical=False,
        )
    certificate = builder.sign(issuer_key, hashes.SHA256())
    return CertificateAuthority(name, key, certificate, _pem(certificate), parent)


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=not ca,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass(frozen=True, slots=True)
class SignerIdentity:
    """One person's signing certificate for one unit and role, with its private key."""

    unit_code: str
    role: SignerRole
    full_name: str
    algorithm: Algorithm
    private_key: PrivateKey
    certificate: x509.Certificate
    certificate_pem: str
    serial: str

    def sign(self, payload: dict[str, Any]) -> dict[str, str]:
        """A `signatures` entry over `payload` (its own `signatures` member is ignored)."""
        value = sign(payload, private_key=self.private_key, algorithm=self.algorithm)
        return {
            "role": self.role.value,
            "certificate_serial": self.serial,
            "algorithm": self.algorithm,
            "value": value,
        }


def make_signer(
    ca: CertificateAuthority,
    *,
    unit_code: str,
    role: SignerRole,
    algorithm: Algorithm = "RS256",
    not_before: dt.datetime = DEFAULT_NOT_BEFORE,
    not_after: dt.datetime = DEFAULT_NOT_AFTER,
    full_name: str | None = None,
    variant: str = "",
) -> SignerIdentity:
    """A signer certificate issued by `ca`; `variant` tells apart several of one unit/role."""
    label = f"signer/{ca.name}/{ca.certificate.serial_number}/{unit_code}/{role}/{variant}"
    key = cached_key(label, algorithm)
    name = full_name or f"Người ký {role.value} {unit_code}"
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit_code),
            x509.NameAttribute(NameOID.TITLE, role.value),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(_serial_for(f"{label}/{not_before}/{not_after}"))
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.private_key.public_key()),
            critical=False,
        )
        .sign(ca.private_key, hashes.SHA256())
    )
    return SignerIdentity(
        unit_code=unit_code,
        role=role,
        full_name=name,
        algorithm=algorithm,
        private_key=key,
        certificate=certificate,
        certificate_pem=_pem(certificate),
        serial=serial_hex(certificate),
    )


def sign_payload(payload: dict[str, Any], signers: Sequence[SignerIdentity]) -> dict[str, Any]:
    """A copy of `payload` whose `signatures` are those of `signers`, in that order."""
    signed = {k: v for k, v in payload.items() if k != "signatures"}
    signed["signatures"] = [signer.sign(signed) for signer in signers]
    return signed
