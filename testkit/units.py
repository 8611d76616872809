"""A unit of a scenario: `UnitKit` holds the unit, its signers and budget lines, and produces
the envelopes that the unit's portal and the budget system would send about it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Unpack

from shared.contract import (
    Account,
    AllocationKind,
    AllocationRecorded,
    Envelope,
    EventType,
    RegistrationSubmitted,
    RequestType,
    Signer,
    SignerRole,
    Unit,
    VoucherSubmitted,
    make_envelope,
    parse_payload,
    to_json_dict,
)
from testkit.ids import Ids
from testkit.pki import CertificateAuthority, SignerIdentity, make_ca, make_signer, sign_payload
from testkit.vouchers import ICT, VoucherOptions, build_voucher, settlement_options

DEFAULT_NOW: Final = dt.datetime(2026, 6, 15, 9, 0, tzinfo=ICT)
PORTAL_SOURCE: Final = "dvc-portal"
BUDGET_SOURCE: Final = "tabmis"
SECTOR_CODES: Final = ("072", "073", "081", "092", "101", "131", "341", "398")
SOURCE_CODES: Final = ("12", "13", "14", "16")
TITLES: Final = {
    SignerRole.ACCOUNT_HOLDER: "Thủ trưởng đơn vị",
    SignerRole.CHIEF_ACCOUNTANT: "Kế toán trưởng",
    SignerRole.ACCOUNT_HOLDER_DEPUTY: "Phó thủ trưởng đơn vị",
    SignerRole.CHIEF_ACCOUNTANT_DEPUTY: "Phụ trách kế toán",
}
SIGNER_VALIDITY_BEFORE: Final = dt.timedelta(days=180)
SIGNER_VALIDITY_AFTER: Final = dt.timedelta(days=3 * 365)
StandIn = Literal["expired", "foreign_ca", "other_unit"]
SignedBy = Sequence[SignerRole | SignerIdentity]
Mutation = Callable[[dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class BudgetLine:
    """The part of a budget line a unit chooses: (sector, source) under its own chapter."""

    sector_code: str
    source_code: str


@dataclass
class UnitKit:
    code: str
    name: str
    address: str
    parent_code: str
    budget_level: int
    chapter: str
    treasury_code: str
    account_no: str
    signers: dict[SignerRole, SignerIdentity]
    budget_lines: tuple[BudgetLine, ...]
    ca: CertificateAuthority
    ids: Ids
    now: dt.datetime
    label: str
    stand_ins: dict[str, SignerIdentity] = field(default_factory=dict, repr=False)
    reserved_lines: set[BudgetLine] = field(default_factory=set, repr=False)

    def signer(self, role: SignerRole) -> SignerIdentity:
        return self.signers[role]

    def serials(self) -> dict[str, SignerRole]:
        """The certificate serials registered for this unit, with their roles."""
        return {s.serial: role for role, s in self.signers.items()}

    def registration(
        self,
        *,
        at: dt.datetime | None = None,
        request_type: RequestType = RequestType.NEW,
        dossier_id: str | None = None,
    ) -> Envelope:
        """`registration.submitted`, signed by the account holder whose certificate it carries."""
        when = at or self.now
        dossier_id = dossier_id or self.ids.registration_dossier_id(
            treasury_code=self.treasury_code, year=_local_year(when)
        )
        payload = RegistrationSubmitted(
            dossier_id=dossier_id,
            request_type=request_type,
            unit=Unit(
                code=self.code,
                name=self.name,
                address=self.address,
                parent_code=self.parent_code,
                budget_level=self.budget_level,
                chapter=self.chapter,
            ),
            treasury_code=self.treasury_code,
            accounts=(Account(account_no=self.account_no, kind="budget_estimate"),),
            signers=tuple(
                Signer(
                    role=role,
                    full_name=identity.full_name,
                    title=TITLES[role],
                    email=f"{role.value}.{self.code}@example.vn",
                    certificate_pem=identity.certificate_pem,
                )
                for role, identity in self.signers.items()
            ),
            notify_emails=(f"ketoan.{self.code}@example.vn",),
        )
        signed = sign_payload(to_json_dict(payload), [self.signer(SignerRole.ACCOUNT_HOLDER)])
        return self.wrap(signed, event_type=EventType.REGISTRATION_SUBMITTED, at=when)

    def allocation(
        self,
        line: BudgetLine,
        *,
        amount: int,
        kind: AllocationKind = AllocationKind.INITIAL,
        fiscal_year: int | None = None,
        at: dt.datetime | None = None,
    ) -> Envelope:
        when = at or self.now
        year = fiscal_year or _local_year(when)
        payload = AllocationRecorded(
            allocation_id=self.ids.allocation_id(treasury_code=self.treasury_code, year=year),
            unit_code=self.code,
            fiscal_year=year,
            chapter=self.chapter,
            sector_code=line.sector_code,
            source_code=line.source_code,
            kind=kind,
            amount=amount,
        )
        return make_envelope(
            payload, event_id=self.ids.event_id(), occurred_at=when, source=BUDGET_SOURCE
        )

    def allocations(
        self, *, amount: int, fiscal_year: int | None = None, at: dt.datetime | None = None
    ) -> list[Envelope]:
        """An initial allocation of `amount` on every budget line of the unit."""
        return [
            self.allocation(line, amount=amount, fiscal_year=fiscal_year, at=at)
            for line in self.budget_lines
        ]

    def voucher(
        self,
        *,
        at: dt.datetime | None = None,
        signed_by: SignedBy = (SignerRole.CHIEF_ACCOUNTANT, SignerRole.ACCOUNT_HOLDER),
        mutate: Mutation | None = None,
        schema_version: int = 1,
        **options: Unpack[VoucherOptions],
    ) -> Envelope:
        """A signed `voucher.submitted`, valid and consistent unless `mutate` says otherwise.

        `mutate` edits the JSON payload before it is signed, so any fault it introduces is
        not a signature fault.
        """
        when = at or self.now
        payload = to_json_dict(build_voucher(self, when=when, **options))
        if mutate is not None:
            mutate(payload)
        signed = self.sign(payload, signed_by)
        return self.wrap(signed, at=when, schema_version=schema_version)

    def vouchers(
        self, count: int, *, at: dt.datetime | None = None, **options: Unpack[VoucherOptions]
    ) -> Iterator[Envelope]:
        for _ in range(count):
            yield self.voucher(at=at, **options)

    def settlement(
        self,
        advance: Envelope,
        *,
        amount: int | None = None,
        at: dt.datetime | None = None,
        **options: Unpack[VoucherOptions],
    ) -> Envelope:
        """A C2-03/NS settling `advance` (an advance voucher of this unit), fully by default."""
        advanced = parse_payload(advance, VoucherSubmitted)
        merged: VoucherOptions = {**settlement_options(advanced, amount=amount), **options}
        return self.voucher(at=at, **merged)

    def stand_in(self, variant: StandIn) -> SignerIdentity:
        """A chief accountant's certificate other than the registered, valid one: expired,
        issued by a CA outside the trust store, or issued for another unit."""
        if variant in self.stand_ins:
            return self.stand_ins[variant]
        registered = self.signer(SignerRole.CHIEF_ACCOUNTANT)
        ca, unit_code = self.ca, self.code
        valid_from, valid_to = self.now - SIGNER_VALIDITY_BEFORE, self.now + SIGNER_VALIDITY_AFTER
        if variant == "expired":
            valid_from, valid_to = self.now - 2 * SIGNER_VALIDITY_AFTER, self.now - dt.timedelta(30)
        elif variant == "foreign_ca":
            ca = make_ca(name="Foreign Testkit CA", seed=self.ids.rng.getrandbits(32))
        else:
            unit_code = self.ids.unit_code()
        signer = make_signer(
            ca,
            unit_code=unit_code,
            role=SignerRole.CHIEF_ACCOUNTANT,
            algorithm=registered.algorithm,
            not_before=valid_from,
            not_after=valid_to,
            full_name=registered.full_name,
            variant=f"{self.label}/{variant}",
        )
        self.stand_ins[variant] = signer
        return signer

    def unused_budget_line(self) -> BudgetLine:
        """A budget line of the unit's chapter that none of its vouchers or allocations use."""
        taken = {*self.budget_lines, *self.reserved_lines}
        for sector in SECTOR_CODES:
            for source in SOURCE_CODES:
                line = BudgetLine(sector, source)
                if line not in taken:
                    self.reserved_lines.add(line)
                    return line
        raise LookupError("every budget line of the kit's code lists is in use")

    def sign(self, payload: dict[str, Any], signed_by: SignedBy) -> dict[str, Any]:
        identities = [s if isinstance(s, SignerIdentity) else self.signer(s) for s in signed_by]
        return sign_payload(payload, identities)

    def wrap(
        self,
        payload: dict[str, Any],
        *,
        event_type: EventType = EventType.VOUCHER_SUBMITTED,
        at: dt.datetime | None = None,
        source: str = PORTAL_SOURCE,
        schema_version: int = 1,
    ) -> Envelope:
        """An envelope with a fresh event id around an already signed payload."""
        return make_envelope(
            payload,
            event_type=event_type,
            event_id=self.ids.event_id(),
            occurred_at=at or self.now,
            source=source,
            schema_version=schema_version,
        )


def _local_year(instant: dt.datetime) -> int:
    return instant.astimezone(ICT).year
