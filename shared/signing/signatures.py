"""Producing and checking the `value` of a payload signature.

ES256 values are the raw 64-byte `r || s` (each 32 bytes, big-endian), as in JWS
(RFC 7518 §3.4), not a DER `ECDSA-Sig-Value`; RS256 values are the PKCS#1 v1.5 signature.
Both are base64url without padding. Everything here is pure and synchronous so that
services can run it in a thread or process pool.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Mapping
from typing import Any, Final

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from shared.contract.enums import Algorithm
from shared.signing.canonical import signing_input

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
ES256_COORDINATE_BYTES: Final = 32
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict: only the base64url alphabet, no padding; raises `ValueError` otherwise."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not base64url without padding")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:
        raise ValueError(str(exc)) from exc


@functools.cache
def _ecdsa_sha256() -> ec.ECDSA:
    # RFC 6979 nonces make ES256 output reproducible (and immune to a weak RNG) where the
    # OpenSSL build supports them; verification accepts either kind.
    try:
        return ec.ECDSA(hashes.SHA256(), deterministic_signing=True)
    except UnsupportedAlgorithm:
        return ec.ECDSA(hashes.SHA256())


def _is_p256(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> bool:
    return isinstance(key.curve, ec.SECP256R1)


def sign(payload: Mapping[str, Any], *, private_key: PrivateKey, algorithm: Algorithm) -> str:
    """Sign the canonical payload (without `signatures`); returns the base64url value.

    Raises `TypeError` if the key does not fit the algorithm.
    """
    data = signing_input(payload)
    if algorithm == "RS256":
        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise TypeError("RS256 needs an RSA private key")
        return b64url_encode(private_key.sign(data, padding.PKCS1v15(), hashes.SHA256()))
    if algorithm == "ES256":
        if not isinstance(private_key, ec.EllipticCurvePrivateKey) or not _is_p256(private_key):
            raise TypeError("ES256 needs a P-256 private key")
        r, s = decode_dss_signature(private_key.sign(data, _ecdsa_sha256()))
        size = ES256_COORDINATE_BYTES
        return b64url_encode(r.to_bytes(size, "big") + s.to_bytes(size, "big"))
    raise ValueError(f"unsupported algorithm {algorithm!r}")


def verify(
    payload: Mapping[str, Any],
    signature_value: str,
    *,
    certificate: x509.Certificate,
    algorithm: Algorithm | str,
) -> bool:
    """True only if `signature_value` is a valid `algorithm` signature of the payload by the
    certificate's key. Never raises: any malformed input is simply not a valid signature.

    Whether the certificate itself may be trusted is `check_certificate`'s question.
    """
    try:
        data = signing_input(payload)
    # Input comes from the network: non-JCS numbers, lone surrogates, non-string keys and
    # absurd nesting (RecursionError) must all end as "invalid", never as a crash.
    except Exception:
        return False
    return verify_signing_input(data, signature_value, certificate=certificate, algorithm=algorithm)


def verify_signing_input(
    data: bytes, signature_value: str, *, certificate: x509.Certificate, algorithm: Algorithm | str
) -> bool:
    """`verify` for bytes already canonicalised with `signing_input`, so that a payload
    carrying several signatures is canonicalised once. Never raises."""
    try:
        return _verify(data, signature_value, certificate, algorithm)
    # InvalidSignature, a value that is not base64url or not a string, an unreadable key:
    # to the caller each is the same answer, "not a valid signature".
    except Exception:
        return False


def _verify(data: bytes, value: str, certificate: x509.Certificate, algorithm: str) -> bool:
    raw = b64url_decode(value)
    key = certificate.public_key()
    if algorithm == "RS256" and isinstance(key, rsa.RSAPublicKey):
        key.verify(raw, data, padding.PKCS1v15(), hashes.SHA256())
        return True
    if algorithm == "ES256" and isinstance(key, ec.EllipticCurvePublicKey) and _is_p256(key):
        if len(raw) != 2 * ES256_COORDINATE_BYTES:
            return False
        r = int.from_bytes(raw[:ES256_COORDINATE_BYTES], "big")
        s = int.from_bytes(raw[ES256_COORDINATE_BYTES:], "big")
        key.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
        return True
    return False
