"""Deliberately faulty vouchers, each exhibiting one reason code of docs/contract.md §5.

`invalid_voucher(kit, kind)` returns a `Faulty`: the bytes to produce on the vouchers topic,
their envelope when they have one, and `prior` envelopes (for any topic, see `event_type`)
that must be processed first for the fault to show. As for a valid voucher, the unit is
expected to be registered and its budget lines allocated (a few hundred million VND each).
Only the named fault is introduced: unless it is a signature fault, the payload is signed
after the change.

UNIT_SUSPENDED and ATTACHMENT_MISSING depend on state or configuration, not on the message,
so they have no fault here.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson

from shared.contract import (
    Envelope,
    Form,
    PaymentMethod,
    ReasonCode,
    SignerRole,
    SpendingType,
    encode,
)
from testkit.units import StandIn, UnitKit
from testkit.vouchers import CONTRACT_THRESHOLD_VND, ICT, new_contract

ABOVE_CONTRACT_THRESHOLD: Final = CONTRACT_THRESHOLD_VND + 10_000_000
BOTH: Final = (SignerRole.CHIEF_ACCOUNTANT, SignerRole.ACCOUNT_HOLDER)
R = ReasonCode
Change = Callable[[dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class Faulty:
    """`raw` goes to the vouchers topic after every `prior` envelope has been processed;
    `envelope` is None when `raw` is deliberately not one."""

    kind: ReasonCode
    variant: str
    raw: bytes
    envelope: Envelope | None
    prior: tuple[Envelope, ...] = ()

    @property
    def dossier_id(self) -> str | None:
        found = self.envelope.payload.get("dossier_id") if self.envelope else None
        return found if isinstance(found, str) else None


@dataclass(frozen=True, slots=True)
class _Made:
    raw: bytes
    envelope: Envelope | None
    prior: tuple[Envelope, ...] = ()


Maker = Callable[[UnitKit, dt.datetime], _Made]


def invalid_voucher(
    kit: UnitKit, kind: ReasonCode, *, variant: str | None = None, at: dt.datetime | None = None
) -> Faulty:
    """A voucher from `kit` showing `kind`; `variant` picks among `fault_variants()[kind]`."""
    variants = FAULTS.get(kind)
    if not variants:
        raise ValueError(f"{kind} is not a property of a message the kit can fault")
    name = variant or next(iter(variants))
    if name not in variants:
        raise ValueError(f"{kind} has no variant {name!r}; choose from {sorted(variants)}")
    made = variants[name](kit, at or kit.now)
    return Faulty(kind, name, made.raw, made.envelope, made.prior)


def fault_variants() -> dict[ReasonCode, tuple[str, ...]]:
    """Each reason code the kit can fault, with its variants (the first is the default)."""
    return {kind: tuple(variants) for kind, variants in FAULTS.items()}


def all_faults(kit: UnitKit, *, at: dt.datetime | None = None) -> Iterator[Faulty]:
    for kind, variants in FAULTS.items():
        for variant in variants:
            yield invalid_voucher(kit, kind, variant=variant, at=at)


def _sent(envelope: Envelope, *prior: Envelope) -> _Made:
    return _Made(encode(envelope), envelope, prior)


def _resigned(change: Change) -> Maker:
    return lambda kit, at: _sent(kit.voucher(at=at, mutate=change))


def _tampered(change: Change) -> Maker:
    def make(kit: UnitKit, at: dt.datetime) -> _Made:
        envelope = kit.voucher(at=at)
        payload = copy.deepcopy(envelope.payload)
        change(payload)
        return _sent(envelope.model_copy(update={"payload": payload}))

    return make


def _line0(key: str, value: Callable[[Any], Any]) -> Change:
    def change(payload: dict[str, Any]) -> None:
        payload["lines"][0][key] = value(payload["lines"][0][key])

    return change


def _set(**members: Any) -> Change:
    return lambda payload: payload.update(members)


def _shift_amount(payload: dict[str, Any]) -> None:
    payload["lines"][0]["amount"] += 10_000
    payload["total_amount"] += 10_000


def _total_above_lines(payload: dict[str, Any]) -> None:
    payload["total_amount"] += 1000


def _amount_as_text(payload: dict[str, Any]) -> None:
    payload["total_amount"] = str(payload["total_amount"])


def _other_character(text: str) -> str:
    return text[:-1] + ("x" if text[-1] != "x" else "y")


def _garble_signature(payload: dict[str, Any]) -> None:
    # The first base64url character carries whole bits of the first byte; the last may
    # carry only padding bits, so changing it might decode to the same signature.
    value = payload["signatures"][0]["value"]
    payload["signatures"][0]["value"] = ("B" if value[0] == "A" else "A") + value[1:]


def _truncated(kit: UnitKit, at: dt.datetime) -> _Made:
    raw = encode(kit.voucher(at=at))
    return _Made(raw[: len(raw) // 2], None)


def _bare_payload(kit: UnitKit, at: dt.datetime) -> _Made:
    return _Made(orjson.dumps(kit.voucher(at=at).payload), None)


def _future_version(kit: UnitKit, at: dt.datetime) -> _Made:
    return _sent(kit.voucher(at=at, schema_version=2))


def _unknown_unit(kit: UnitKit, at: dt.datetime) -> _Made:
    # Kits hand out codes starting with 1, so a 2xxxxxx code is never registered by them.
    code = kit.ids.unit_code(first_digit="2")
    return _sent(kit.voucher(at=at, mutate=_set(unit_code=code, account_no=f"9523.2.{code}")))


def _other_office(kit: UnitKit, at: dt.datetime) -> _Made:
    office = f"{int(kit.treasury_code) % 9999 + 1:04d}"
    return _sent(kit.voucher(at=at, mutate=_set(treasury_code=office)))


def _cash_without_recipient(kit: UnitKit, at: dt.datetime) -> _Made:
    change = _set(cash_recipient=None)
    return _sent(kit.voucher(at=at, payment_method=PaymentMethod.CASH, mutate=change))


def _signed_only_by(*roles: SignerRole) -> Maker:
    return lambda kit, at: _sent(kit.voucher(at=at, signed_by=roles))


def _uncertified(variant: StandIn) -> Maker:
    def make(kit: UnitKit, at: dt.datetime) -> _Made:
        signed_by = (kit.stand_in(variant), SignerRole.ACCOUNT_HOLDER)
        return _sent(kit.voucher(at=at, signed_by=signed_by))

    return make


def _closed_year(kit: UnitKit, at: dt.datetime) -> _Made:
    return _sent(kit.voucher(at=at, fiscal_year=at.astimezone(ICT).year - 2))


def _modified_duplicate(kit: UnitKit, at: dt.datetime) -> _Made:
    original = kit.voucher(at=at)
    payload = copy.deepcopy(original.payload)
    _shift_amount(payload)
    return _sent(kit.wrap(kit.sign(payload, BOTH), at=at), original)


def _over_allocation(kit: UnitKit, at: dt.datetime) -> _Made:
    line = kit.unused_budget_line()
    allocation = kit.allocation(line, amount=10_000_000, at=at)
    voucher = kit.voucher(at=at, budget_lines=(line,), total_amount=12_500_000)
    return _sent(voucher, allocation)


def _over_contract(kit: UnitKit, at: dt.datetime) -> _Made:
    contract = new_contract(kit, value=100_000_000, on=at.astimezone(ICT).date())
    first = kit.voucher(at=at, contract=contract, total_amount=60_000_000)
    return _sent(kit.voucher(at=at, contract=contract, total_amount=60_000_000), first)


def _unknown_advance(kit: UnitKit, at: dt.datetime) -> _Made:
    missing = kit.ids.voucher_dossier_id(treasury_code=kit.treasury_code, year=at.year)
    return _sent(kit.voucher(at=at, form=Form.ADVANCE_SETTLEMENT, advance_dossier_id=missing))


def _over_advance(kit: UnitKit, at: dt.datetime) -> _Made:
    advance = kit.voucher(at=at, spending_type=SpendingType.ADVANCE, total_amount=20_000_000)
    return _sent(kit.settlement(advance, amount=25_000_000, at=at), advance)


FAULTS: Final[Mapping[ReasonCode, Mapping[str, Maker]]] = {
    R.MALFORMED: {
        "not_json": _truncated,
        "no_envelope": _bare_payload,
        "bad_payload": _resigned(_amount_as_text),
    },
    R.SCHEMA_VERSION_UNSUPPORTED: {"future": _future_version},
    R.UNIT_UNKNOWN: {"unregistered": _unknown_unit},
    R.TREASURY_MISMATCH: {"other_office": _other_office},
    R.CODE_INVALID: {
        "economic_code": _resigned(_line0("economic_code", lambda c: c[:3] + "0")),
        "sector_code": _resigned(_line0("sector_code", lambda c: c[:2] + "0")),
        "source_code": _resigned(_line0("source_code", lambda c: c[:1])),
        "chapter": _resigned(_set(chapter="700")),
    },
    R.TOTAL_MISMATCH: {"total_above_lines": _resigned(_total_above_lines)},
    R.PAYEE_MISSING: {"no_payee": _resigned(_set(payee=None))},
    R.CASH_RECIPIENT_MISSING: {"no_recipient": _cash_without_recipient},
    R.SIGNATURE_MISSING: {
        "chief_accountant": _signed_only_by(SignerRole.ACCOUNT_HOLDER),
        "account_holder": _signed_only_by(SignerRole.CHIEF_ACCOUNTANT),
        "all": _signed_only_by(),
    },
    R.SIGNATURE_INVALID: {
        "description": _tampered(_line0("description", _other_character)),
        "amount": _tampered(_shift_amount),
        "value": _tampered(_garble_signature),
    },
    R.CERTIFICATE_INVALID: {
        "expired": _uncertified("expired"),
        "foreign_ca": _uncertified("foreign_ca"),
        "other_unit": _uncertified("other_unit"),
    },
    R.FISCAL_YEAR_CLOSED: {"two_years_back": _closed_year},
    R.DUPLICATE_MODIFIED: {"changed_amount": _modified_duplicate},
    # Control-stage faults: the voucher passes intake and is returned or refused.
    R.CONTRACT_REQUIRED: {
        "no_contract": lambda kit, at: _sent(
            kit.voucher(at=at, total_amount=ABOVE_CONTRACT_THRESHOLD, contract=False)
        ),
        "no_contract_attachment": lambda kit, at: _sent(
            kit.voucher(
                at=at,
                total_amount=ABOVE_CONTRACT_THRESHOLD,
                contract=True,
                contract_attachment=False,
            )
        ),
    },
    R.ACCEPTANCE_RECORD_MISSING: {
        "actual_under_contract": lambda kit, at: _sent(
            kit.voucher(
                at=at, total_amount=ABOVE_CONTRACT_THRESHOLD, contract=True, acceptance_record=False
            )
        ),
    },
    R.CASH_NOT_ALLOWED: {
        "office_supplies": lambda kit, at: _sent(
            kit.voucher(at=at, payment_method=PaymentMethod.CASH, economic_codes=("6551",))
        ),
    },
    R.BUDGET_LINE_UNKNOWN: {
        "unallocated_line": lambda kit, at: _sent(
            kit.voucher(at=at, budget_lines=(kit.unused_budget_line(),))
        ),
    },
    R.BUDGET_EXCEEDED: {"over_allocation": _over_allocation},
    R.CONTRACT_EXCEEDED: {"cumulative": _over_contract},
    R.ADVANCE_NOT_FOUND: {"unknown_advance": _unknown_advance},
    R.ADVANCE_EXCEEDED: {"over_advance": _over_advance},
}
