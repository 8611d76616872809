"""Registration rules, table by table (no I/O: runs in `make test-fast`).

Real certificates from the test kit's throwaway CA (ECDSA, so signing is quick) and real
signatures: only the database and the broker are left out.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from services.registration.domain import apply, check, set_status
from shared.contract import RegistrationSubmitted, SignerRole
from shared.contract.directory import DirectoryEntry
from shared.contract.enums import RequestType
from testkit import StandIn, Testbed, make_signer, sign_payload

pytestmark = pytest.mark.fast

BED = Testbed(seed=1313, algorithm="ES256")
KIT = BED.unit(code="1012345", treasury_code="0011", chapter="422", deputies=True)
TRUST = BED.ca.trust_store()
NOW = BED.now
HOLDER, CHIEF = SignerRole.ACCOUNT_HOLDER, SignerRole.CHIEF_ACCOUNTANT
HOLDER_DEPUTY, CHIEF_DEPUTY = SignerRole.ACCOUNT_HOLDER_DEPUTY, SignerRole.CHIEF_ACCOUNTANT_DEPUTY
NEW: dict[str, Any] = KIT.registration().payload
Change = Callable[[dict[str, Any]], None]


def _signed(payload: dict[str, Any], *roles: SignerRole) -> dict[str, Any]:
    return sign_payload(payload, [KIT.signer(r) for r in roles])


def registration(
    change: Change | None = None,
    *,
    request_type: str = "new",
    signed_by: tuple[SignerRole, ...] = (HOLDER,),
) -> dict[str, Any]:
    """The kit's registration, changed, then signed again by `signed_by`."""
    payload = copy.deepcopy(NEW)
    payload["request_type"] = request_type
    if change is not None:
        change(payload)
    return _signed(payload, *signed_by)


def found(
    raw: dict[str, Any], existing: DirectoryEntry | None = None
) -> set[tuple[str, str | None]]:
    reg = RegistrationSubmitted.model_validate(raw)
    problems = check(reg, raw, existing=existing, trust=TRUST, now=NOW)
    return {(p.code.value, p.field) for p in problems}


def _entry(**changes: Any) -> DirectoryEntry:
    reg = RegistrationSubmitted.model_validate(NEW)
    return apply(reg, None, now=NOW).model_copy(update=changes)


def _set(path: str, value: Any) -> Change:
    def change(payload: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = payload
        for p in parents:
            target = target[int(p)] if isinstance(target, list) else target[p]
        target[last] = value

    return change


def _only_signers(*roles: SignerRole) -> Change:
    def change(payload: dict[str, Any]) -> None:
        payload["signers"] = [s for s in payload["signers"] if s["role"] in roles]

    return change


def test_a_new_registration_of_a_unknown_unit_with_valid_signers_passes() -> None:
    assert found(registration()) == set()


CODES: list[tuple[str, Change, str]] = [
    ("unit code of 6 digits", _set("unit.code", "101234"), "unit.code"),
    ("unit code starting with 5", _set("unit.code", "5012345"), "unit.code"),
    ("chapter outside the levels", _set("unit.chapter", "650"), "unit.chapter"),
    ("chapter of 4 digits", _set("unit.chapter", "4220"), "unit.chapter"),
    ("budget level 3", _set("unit.budget_level", 3), "unit.budget_level"),
    ("budget level 0", _set("unit.budget_level", 0), "unit.budget_level"),
    ("parent code of letters", _set("unit.parent_code", "ABCDEFG"), "unit.parent_code"),
    ("treasury code of 5 digits", _set("treasury_code", "00111"), "treasury_code"),
    ("empty account number", _set("accounts.0.account_no", "  "), "accounts[0].account_no"),
]


@pytest.mark.parametrize(("change", "field"), [c[1:] for c in CODES], ids=[c[0] for c in CODES])
def test_each_malformed_code_is_reported_with_its_field(change: Change, field: str) -> None:
    assert found(registration(change)) == {("CODE_INVALID", field)}


@pytest.mark.parametrize(
    ("change", "accepted"),
    [
        (_set("unit.budget_level", None), True),
        (_set("unit.parent_code", None), True),
        (_set("unit.budget_level", 1), True),
        (_set("unit.budget_level", 4), True),
        (_set("unit.chapter", "001"), True),
        (_set("unit.chapter", "989"), True),
        (_set("unit.code", "7012345"), True),
    ],
    ids=["no level", "no parent", "central", "commune", "chapter 001", "chapter 989", "project"],
)
def test_optional_and_boundary_codes_are_accepted(change: Change, accepted: bool) -> None:
    assert (found(registration(change)) == set()) is accepted


UNIT_CASES: list[tuple[str, str, DirectoryEntry | None, set[tuple[str, str | None]]]] = [
    ("new, unit active", "new", _entry(), {("UNIT_ALREADY_REGISTERED", "unit.code")}),
    (
        "new, unit suspended",
        "new",
        _entry(status="suspended"),
        {("UNIT_ALREADY_REGISTERED", "unit.code")},
    ),
    ("new, unit closed: registers again", "new", _entry(status="closed"), set()),
    ("change of signers, unit unknown", "change_signers", None, {("UNIT_UNKNOWN", "unit.code")}),
    (
        "extra account, unit closed",
        "add_account",
        _entry(status="closed"),
        {("UNIT_UNKNOWN", "unit.code")},
    ),
    ("close, unit unknown", "close", None, {("UNIT_UNKNOWN", "unit.code")}),
    ("change of signers, unit active", "change_signers", _entry(), set()),
    ("extra account, unit active", "add_account", _entry(), set()),
    ("close, unit active", "close", _entry(), set()),
    (
        "change of signers at another office",
        "change_signers",
        _entry(treasury_code="0012"),
        {("TREASURY_MISMATCH", "treasury_code")},
    ),
    (
        "extra account, unit suspended",
        "add_account",
        _entry(status="suspended"),
        {("UNIT_SUSPENDED", "unit.code")},
    ),
    ("a suspended unit may still close", "close", _entry(status="suspended"), set()),
]


@pytest.mark.parametrize(
    ("request_type", "existing", "expected"),
    [c[1:] for c in UNIT_CASES],
    ids=[c[0] for c in UNIT_CASES],
)
def test_what_each_request_type_needs_of_the_unit(
    request_type: str, existing: DirectoryEntry | None, expected: set[tuple[str, str | None]]
) -> None:
    assert found(registration(request_type=request_type), existing) == expected


SIGNER_CASES: list[tuple[str, str, Change, tuple[SignerRole, ...], set[tuple[str, str | None]]]] = [
    (
        "new without a chief accountant",
        "new",
        _only_signers(HOLDER, HOLDER_DEPUTY),
        (HOLDER,),
        {("SIGNER_MISSING", "signers")},
    ),
    (
        "new with only deputies for the chief accountant",
        "new",
        _only_signers(HOLDER, CHIEF_DEPUTY),
        (HOLDER,),
        {("SIGNER_MISSING", "signers")},
    ),
    (
        "new without an account holder, signed by the deputy",
        "new",
        _only_signers(HOLDER_DEPUTY, CHIEF),
        (HOLDER_DEPUTY,),
        {("SIGNER_MISSING", "signers")},
    ),
    (
        "new with the two required signers only",
        "new",
        _only_signers(HOLDER, CHIEF),
        (HOLDER,),
        set(),
    ),
    (
        "change of signers naming nobody",
        "change_signers",
        _set("signers", []),
        (HOLDER,),
        {("SIGNER_MISSING", "signers")},
    ),
    ("new, nobody signed", "new", lambda p: None, (), {("SIGNATURE_MISSING", "signatures")}),
    (
        "new, signed by the chief accountant only",
        "new",
        lambda p: None,
        (CHIEF,),
        {("SIGNATURE_MISSING", "signatures")},
    ),
    ("new, signed by the holder's deputy", "new", lambda p: None, (HOLDER_DEPUTY,), set()),
    (
        "new, signed by a holder whose certificate it does not carry",
        "new",
        _only_signers(HOLDER_DEPUTY, CHIEF),
        (HOLDER,),
        {
            ("SIGNER_MISSING", "signers"),
            ("CERTIFICATE_INVALID", "signatures[0].certificate_serial"),
        },
    ),
]


@pytest.mark.parametrize(
    ("request_type", "change", "signed_by", "expected"),
    [c[1:] for c in SIGNER_CASES],
    ids=[c[0] for c in SIGNER_CASES],
)
def test_who_must_be_named_and_who_must_sign(
    request_type: str,
    change: Change,
    signed_by: tuple[SignerRole, ...],
    expected: set[tuple[str, str | None]],
) -> None:
    existing = None if request_type == "new" else _entry()
    raw = registration(change, request_type=request_type, signed_by=signed_by)
    assert found(raw, existing) == expected


def test_a_change_of_signers_may_be_signed_by_the_registered_holder() -> None:
    newcomer = make_signer(
        BED.ca, unit_code=KIT.code, role=CHIEF, algorithm="ES256", variant="newcomer"
    )

    def only_newcomer(payload: dict[str, Any]) -> None:
        payload["signers"] = [
            {
                "role": "chief_accountant",
                "full_name": "Lê Thị B",
                "certificate_pem": newcomer.certificate_pem,
            }
        ]

    raw = registration(only_newcomer, request_type="change_signers")
    assert found(raw, _entry()) == set()


def _replace_chief(identity_variant: StandIn) -> Change:
    stand_in = KIT.stand_in(identity_variant)

    def change(payload: dict[str, Any]) -> None:
        for signer in payload["signers"]:
            if signer["role"] == "chief_accountant":
                signer["certificate_pem"] = stand_in.certificate_pem

    return change


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (_replace_chief("expired"), "signers[1].certificate_pem"),
        (_replace_chief("foreign_ca"), "signers[1].certificate_pem"),
        (
            _set(
                "signers.1.certificate_pem",
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
            ),
            "signers[1].certificate_pem",
        ),
        (_set("signers.0.certificate_pem", "not a certificate"), "signers[0].certificate_pem"),
    ],
    ids=["expired", "foreign CA", "garbled PEM", "not PEM"],
)
def test_every_certificate_must_be_readable_trusted_and_valid_now(
    change: Change, field: str
) -> None:
    codes = found(registration(change))
    assert ("CERTIFICATE_INVALID", field) in codes


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("notify_emails", ["other@example.vn"]),
        ("treasury_code", "0011"),
        ("unit.name", "Trường khác"),
    ],
    ids=["notify emails", "same value re-set", "unit name"],
)
def test_content_changed_after_signing_no_longer_verifies(member: str, value: Any) -> None:
    raw = registration()
    _set(member, value)(raw)
    changed = raw != registration()
    expected = {("SIGNATURE_INVALID", "signatures[0].value")} if changed else set()
    assert found(raw) == expected


def test_every_problem_is_reported_not_only_the_first() -> None:
    def many(payload: dict[str, Any]) -> None:
        payload["unit"]["chapter"] = "650"
        payload["treasury_code"] = "11"
        payload["signers"] = [s for s in payload["signers"] if s["role"] != "chief_accountant"]
        payload["signers"] = [
            s for s in payload["signers"] if s["role"] != "chief_accountant_deputy"
        ]

    codes = {code for code, _ in found(registration(many, signed_by=(CHIEF,)), _entry())}
    assert codes == {
        "CODE_INVALID",
        "UNIT_ALREADY_REGISTERED",
        "SIGNER_MISSING",
        "SIGNATURE_MISSING",
    }


def _reg(
    change: Change | None = None, request_type: RequestType = RequestType.NEW
) -> RegistrationSubmitted:
    return RegistrationSubmitted.model_validate(
        registration(change, request_type=request_type.value)
    )


def test_an_approved_new_registration_becomes_an_active_directory_entry() -> None:
    entry = apply(_reg(), None, now=NOW)
    assert (entry.unit_code, entry.treasury_code, entry.chapter) == ("1012345", "0011", "422")
    assert (entry.status, entry.version, entry.updated_at) == ("active", 1, NOW)
    assert [a.account_no for a in entry.accounts] == [KIT.account_no]
    assert {s.role for s in entry.signers} == set(SignerRole)
    assert {s.certificate_serial for s in entry.signers} == set(KIT.serials())
    assert entry.recipients()[0] == f"ketoan.{KIT.code}@example.vn"


def test_a_closed_unit_registered_again_keeps_counting_versions() -> None:
    closed = _entry(status="closed", version=4)
    assert apply(_reg(), closed, now=NOW).version == 5


def test_a_change_of_signers_replaces_those_roles_and_keeps_the_others() -> None:
    newcomer = make_signer(BED.ca, unit_code=KIT.code, role=CHIEF, algorithm="ES256", variant="n2")

    def only_newcomer(payload: dict[str, Any]) -> None:
        payload["signers"] = [
            {
                "role": "chief_accountant",
                "full_name": "Lê Thị B",
                "certificate_pem": newcomer.certificate_pem,
            }
        ]
        payload["notify_emails"] = ["moi@example.vn"]

    entry = apply(_reg(only_newcomer, RequestType.CHANGE_SIGNERS), _entry(), now=NOW)
    chiefs = [s for s in entry.signers if s.role is CHIEF]
    assert [s.certificate_serial for s in chiefs] == [newcomer.serial]
    assert {s.role for s in entry.signers} == set(SignerRole)
    assert (entry.notify_emails, entry.version) == (("moi@example.vn",), 2)


def test_an_extra_account_is_added_once() -> None:
    def two_accounts(payload: dict[str, Any]) -> None:
        payload["accounts"] = [
            *payload["accounts"],
            {"account_no": "3713.1.1012345", "kind": "deposit"},
        ]

    entry = apply(_reg(two_accounts, RequestType.ADD_ACCOUNT), _entry(), now=NOW)
    assert [a.account_no for a in entry.accounts] == [KIT.account_no, "3713.1.1012345"]


@pytest.mark.parametrize(
    ("start", "action", "status"),
    [("active", "close", "closed"), ("suspended", "close", "closed")],
)
def test_closing_a_unit(start: str, action: str, status: str) -> None:
    entry = apply(_reg(None, RequestType(action)), _entry(status=start), now=NOW)
    assert (entry.status, entry.version) == (status, 2)


@pytest.mark.parametrize("status", ["suspended", "active"])
def test_suspending_and_reinstating_move_the_version_on(status: str) -> None:
    later = NOW + dt.timedelta(hours=1)
    entry = set_status(_entry(version=3), status, now=later)
    assert (entry.status, entry.version, entry.updated_at) == (status, 4, later)


@pytest.mark.parametrize("code", ["7012345", "8012345"])
def test_an_investment_project_registers_like_a_unit(code: str) -> None:
    project = BED.unit(code=code, treasury_code="0011", chapter="422", project=True)
    raw = project.registration().payload
    reg = RegistrationSubmitted.model_validate(raw)
    assert check(reg, raw, existing=None, trust=TRUST, now=NOW) == []
    assert apply(reg, None, now=NOW).unit_code == code
