"""Payload signatures (RFC 8785 + RS256/ES256) and signer-certificate checks.

Pure and synchronous: CPU-heavy work that services run in a thread or process pool.
"""

from shared.signing.canonical import (
    SIGNATURES_MEMBER,
    canonical_json,
    content_digest,
    content_digest_or,
    signing_input,
)
from shared.signing.certificates import (
    MIN_RSA_BITS,
    TrustStore,
    check_certificate,
    load_certificate,
    load_certificates,
    load_trust_store,
    normalize_serial,
    serial_hex,
)
from shared.signing.signatures import (
    PrivateKey,
    b64url_decode,
    b64url_encode,
    sign,
    verify,
    verify_signing_input,
)

__all__ = [
    "MIN_RSA_BITS",
    "SIGNATURES_MEMBER",
    "PrivateKey",
    "TrustStore",
    "b64url_decode",
    "b64url_encode",
    "canonical_json",
    "check_certificate",
    "content_digest",
    "content_digest_or",
    "load_certificate",
    "load_certificates",
    "load_trust_store",
    "normalize_serial",
    "serial_hex",
    "sign",
    "signing_input",
    "verify",
    "verify_signing_input",
]
