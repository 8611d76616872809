"""Payload signatures verify exactly when nothing changed, and certificate checks report
what keeps a certificate from signing."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from shared.contract import Algorithm, Envelope, SignerRole
from shared.signing import (
    TrustStore,
    b64url_decode,
    canonical_json,
    check_certificate,
    normalize_serial,
    serial_hex,
    sign,
    signing_input,
    verify,
)
from testkit import CertificateAuthority, Testbed, UnitKit, make_ca, make_signer

AT = dt.datetime(2026, 6, 15, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def bed() -> Testbed:
    return Testbed(seed=11, now=AT)


@pytest.fixture(scope="module")
def trust(bed: Testbed) -> TrustStore:
    return bed.ca.trust_store()


@pytest.fixture(scope="module", params=["RS256", "ES256"])
def unit(bed: Testbed, request: pytest.FixtureRequest) -> UnitKit:
    algorithm: Algorithm = request.param
    return bed.unit(algorithm=algorithm)


def signatures_verify(envelope: Envelope, unit: UnitKit, payload: dict[str, Any]) -> list[bool]:
    certificates = {s.serial: s.certificate for s in unit.signers.values()}
    return [
        verify(
            payload,
            s["value"],
            certificate=certificates[s["certificate_serial"]],
            algorithm=s["algorithm"],
        )
        for s in envelope.payload["signatures"]
    ]


def test_voucher_signed_with_the_kit_verifies(unit: UnitKit) -> None:
    envelope = unit.voucher(line_count=3)
    assert signatures_verify(envelope, unit, envelope.payload) == [True, True]


def test_es256_value_is_raw_r_and_s_of_64_bytes(bed: Testbed) -> None:
    envelope = bed.unit(algorithm="ES256").voucher()
    for signature in envelope.payload["signatures"]:
        assert len(b64url_decode(signature["value"])) == 64


def test_rs256_value_is_a_2048_bit_signature_without_padding(bed: Testbed) -> None:
    envelope = bed.unit(algorithm="RS256").voucher()
    for signature in envelope.payload["signatures"]:
        assert "=" not in signature["value"]
        assert len(b64url_decode(signature["value"])) == 256


def test_changing_one_digit_of_an_amount_fails_verification(unit: UnitKit) -> None:
    envelope = unit.voucher(total_amount=12_500_000)
    payload = copy.deepcopy(envelope.payload)
    payload["lines"][0]["amount"] = 12_600_000
    assert signatures_verify(envelope, unit, payload) == [False, False]


def test_changing_one_character_of_a_description_fails_verification(unit: UnitKit) -> None:
    envelope = unit.voucher()
    payload = copy.deepcopy(envelope.payload)
    payload["lines"][0]["description"] = payload["lines"][0]["description"].upper()
    assert signatures_verify(envelope, unit, payload) == [False, False]


def test_adding_a_member_after_signing_fails_verification(unit: UnitKit) -> None:
    envelope = unit.voucher()
    payload = {**envelope.payload, "supersedes_dossier_id": "CT-0011-2026-00000001"}
    assert signatures_verify(envelope, unit, payload) == [False, False]


def test_certificate_of_another_unit_does_not_verify_the_signature(
    bed: Testbed, unit: UnitKit
) -> None:
    other = bed.unit(algorithm=unit.signer(SignerRole.ACCOUNT_HOLDER).algorithm)
    envelope = unit.voucher()
    holder = envelope.payload["signatures"][1]
    foreign = other.signer(SignerRole.ACCOUNT_HOLDER).certificate
    assert not verify(
        envelope.payload, holder["value"], certificate=foreign, algorithm=holder["algorithm"]
    )


def test_signature_with_the_other_algorithm_does_not_verify(unit: UnitKit) -> None:
    envelope = unit.voucher()
    signature = envelope.payload["signatures"][0]
    certificate = unit.signer(SignerRole.CHIEF_ACCOUNTANT).certificate
    other: Algorithm = "ES256" if signature["algorithm"] == "RS256" else "RS256"
    assert not verify(
        envelope.payload, signature["value"], certificate=certificate, algorithm=other
    )


@pytest.mark.parametrize(
    "value",
    ["", "!!!!", "a", "abc=", "QUJD", "A" * 86, "A" * 342 + "==", 12345, None],
)
def test_verify_returns_false_on_garbage_instead_of_raising(unit: UnitKit, value: Any) -> None:
    payload = unit.voucher().payload
    certificate = unit.signer(SignerRole.CHIEF_ACCOUNTANT).certificate
    for algorithm in ("RS256", "ES256", "HS256"):
        assert not verify(payload, value, certificate=certificate, algorithm=algorithm)


@pytest.mark.parametrize(
    "payload",
    [{"amount": float("nan")}, {"amount": 2**60}, {1: "x"}, {"text": "\ud800"}, "nope", None],
)
def test_verify_returns_false_on_payloads_jcs_cannot_express(unit: UnitKit, payload: Any) -> None:
    signer = unit.signer(SignerRole.CHIEF_ACCOUNTANT)
    value = signer.sign({"amount": 1})["value"]
    assert not verify(payload, value, certificate=signer.certificate, algorithm=signer.algorithm)


def test_canonical_form_ignores_key_order_and_whitespace(unit: UnitKit) -> None:
    envelope = unit.voucher(line_count=2)
    compact = orjson.dumps(envelope.payload)
    reordered = orjson.loads(orjson.dumps(envelope.payload, option=orjson.OPT_SORT_KEYS))
    spaced = orjson.loads(orjson.dumps(envelope.payload, option=orjson.OPT_INDENT_2))
    reversed_keys = dict(reversed(list(orjson.loads(compact).items())))
    inputs = {signing_input(p) for p in (envelope.payload, reordered, spaced, reversed_keys)}
    assert len(inputs) == 1
    assert signatures_verify(envelope, unit, reversed_keys) == [True, True]


def test_canonical_json_follows_rfc_8785() -> None:
    assert canonical_json({"b": 2, "a": [1, "é", None, True], "€": {"z": 0}}) == (
        '{"a":[1,"é",null,true],"b":2,"€":{"z":0}}'.encode()
    )


def test_signatures_member_is_not_covered(unit: UnitKit) -> None:
    envelope = unit.voucher()
    without = {k: v for k, v in envelope.payload.items() if k != "signatures"}
    assert signing_input(envelope.payload) == signing_input(without)
    assert b"signatures" not in signing_input(envelope.payload)


def test_es256_signing_is_deterministic(bed: Testbed) -> None:
    signer = bed.unit(algorithm="ES256").signer(SignerRole.ACCOUNT_HOLDER)
    payload = {"dossier_id": "CT-0011-2026-00012345", "total_amount": 1}
    first = sign(payload, private_key=signer.private_key, algorithm="ES256")
    assert first == sign(payload, private_key=signer.private_key, algorithm="ES256")


def test_sign_refuses_a_key_that_does_not_fit_the_algorithm(bed: Testbed) -> None:
    rsa_signer = bed.unit(algorithm="RS256").signer(SignerRole.ACCOUNT_HOLDER)
    with pytest.raises(TypeError):
        sign({}, private_key=rsa_signer.private_key, algorithm="ES256")


def test_registered_certificate_has_no_problems(unit: UnitKit, trust: TrustStore) -> None:
    for signer in unit.signers.values():
        assert check_certificate(signer.certificate, trust=trust, at=AT) == []


def test_expired_certificate_is_reported(bed: Testbed, trust: TrustStore) -> None:
    signer = make_signer(
        bed.ca,
        unit_code="1012345",
        role=SignerRole.CHIEF_ACCOUNTANT,
        not_before=AT - dt.timedelta(days=800),
        not_after=AT - dt.timedelta(days=1),
    )
    problems = check_certificate(signer.certificate, trust=trust, at=AT)
    assert len(problems) == 1
    assert problems[0].startswith("certificate expired")


def test_certificate_not_yet_valid_is_reported(bed: Testbed, trust: TrustStore) -> None:
    signer = make_signer(
        bed.ca,
        unit_code="1012345",
        role=SignerRole.ACCOUNT_HOLDER,
        not_before=AT + dt.timedelta(days=1),
        not_after=AT + dt.timedelta(days=800),
    )
    assert check_certificate(signer.certificate, trust=trust, at=AT)[0].startswith(
        "certificate not valid before"
    )


def test_certificate_from_another_ca_is_reported(bed: Testbed, trust: TrustStore) -> None:
    stranger = make_ca(name="Unknown Root CA", seed=99)
    signer = make_signer(stranger, unit_code="1012345", role=SignerRole.ACCOUNT_HOLDER)
    problems = check_certificate(signer.certificate, trust=trust, at=AT)
    issuer = stranger.certificate.subject.rfc4514_string()
    assert problems == [f"issuer {issuer} is not a trusted CA"]


def test_certificate_from_an_impostor_ca_with_a_trusted_name_is_reported(
    bed: Testbed, trust: TrustStore
) -> None:
    impostor = make_ca(name=bed.ca.name, seed=bed.seed + 1)
    signer = make_signer(impostor, unit_code="1012345", role=SignerRole.ACCOUNT_HOLDER)
    problems = check_certificate(signer.certificate, trust=trust, at=AT)
    assert len(problems) == 1
    assert "does not verify" in problems[0]


def test_intermediate_ca_in_the_store_is_accepted(bed: Testbed) -> None:
    intermediate = make_ca(name="Testkit Issuing CA", seed=bed.seed, parent=bed.ca)
    signer = make_signer(intermediate, unit_code="1012345", role=SignerRole.ACCOUNT_HOLDER)
    both = TrustStore.from_pem_bytes(intermediate.pem_bundle())
    only_intermediate = TrustStore((intermediate.certificate,))
    only_root = bed.ca.trust_store()
    assert len(both.certificates) == 2
    assert check_certificate(signer.certificate, trust=both, at=AT) == []
    assert check_certificate(signer.certificate, trust=only_intermediate, at=AT) == []
    assert check_certificate(signer.certificate, trust=only_root, at=AT) != []


def _issue(
    issuer: CertificateAuthority | tuple[x509.Name, Any],
    *,
    key_usage: x509.KeyUsage | None = None,
    key_size: int = 2048,
) -> x509.Certificate:
    issuer_name, issuer_key = (
        (issuer.certificate.subject, issuer.private_key)
        if isinstance(issuer, CertificateAuthority)
        else issuer
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Hand made")]))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(AT - dt.timedelta(days=1))
        .not_valid_after(AT + dt.timedelta(days=1))
    )
    if key_usage is not None:
        builder = builder.add_extension(key_usage, critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


def _usage(**allowed: bool) -> x509.KeyUsage:
    flags = dict.fromkeys(
        [
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        ],
        False,
    )
    return x509.KeyUsage(**(flags | allowed))


def test_key_usage_without_signing_is_reported(bed: Testbed, trust: TrustStore) -> None:
    encipher_only = _issue(bed.ca, key_usage=_usage(key_encipherment=True))
    assert check_certificate(encipher_only, trust=trust, at=AT) == [
        "key usage allows neither digitalSignature nor contentCommitment"
    ]
    non_repudiation = _issue(bed.ca, key_usage=_usage(content_commitment=True))
    assert check_certificate(non_repudiation, trust=trust, at=AT) == []


def test_short_rsa_key_is_reported(bed: Testbed, trust: TrustStore) -> None:
    weak = _issue(bed.ca, key_size=1024)
    assert check_certificate(weak, trust=trust, at=AT) == [
        "RSA key of 1024 bits is shorter than 2048"
    ]


def test_issuer_that_is_not_a_ca_is_reported(bed: Testbed) -> None:
    leaf = make_signer(bed.ca, unit_code="1012345", role=SignerRole.ACCOUNT_HOLDER)
    child = _issue((leaf.certificate.subject, leaf.private_key))
    problems = check_certificate(child, trust=TrustStore((leaf.certificate,)), at=AT)
    assert problems == [f"issuer {leaf.certificate.subject.rfc4514_string()} is not a CA"]


def test_check_certificate_needs_an_aware_instant(unit: UnitKit, trust: TrustStore) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        check_certificate(
            unit.signer(SignerRole.ACCOUNT_HOLDER).certificate,
            trust=trust,
            at=dt.datetime(2026, 1, 1),
        )


def test_trust_store_reads_the_bundle_file(bed: Testbed, tmp_path: Path) -> None:
    path = bed.ca.write_bundle(tmp_path / "trusted-ca.pem")
    assert TrustStore.from_pem_file(path).certificates == (bed.ca.certificate,)


def test_serial_is_lower_case_hex_without_prefix(unit: UnitKit) -> None:
    certificate = unit.signer(SignerRole.ACCOUNT_HOLDER).certificate
    serial = serial_hex(certificate)
    assert serial == serial.lower()
    assert int(serial, 16) == certificate.serial_number
    assert not serial.startswith(("0x", "0"))
    assert normalize_serial("0x00" + serial.upper()) == serial
    padded = serial.zfill(len(serial) + len(serial) % 2).upper()
    colons = ":".join(padded[i : i + 2] for i in range(0, len(padded), 2))
    assert normalize_serial(colons) == serial
