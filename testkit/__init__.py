"""Test kit: a throwaway PKI, units with signers, and valid or deliberately faulty messages.

Reused by the tests, the demo workload and the benchmark. Deterministic for a given seed,
except RSA keys, which are cached per process instead (see `pki`)::

    bed = Testbed(seed=7)
    unit = bed.unit()
    messages = [unit.registration(), *unit.allocations(amount=500_000_000), unit.voucher()]
    bad = invalid_voucher(unit, ReasonCode.TOTAL_MISMATCH)
"""

from testkit.faults import Faulty, all_faults, fault_variants, invalid_voucher
from testkit.ids import Ids
from testkit.pki import (
    CertificateAuthority,
    SignerIdentity,
    cached_key,
    make_ca,
    make_signer,
    sign_payload,
)
from testkit.testbed import Testbed, budget_level_of
from testkit.units import DEFAULT_NOW, BudgetLine, StandIn, UnitKit
from testkit.vouchers import (
    CASH_ECONOMIC_CODES,
    CASH_REVIEW_THRESHOLD_VND,
    CONTRACT_THRESHOLD_VND,
    ECONOMIC_CODES,
    ICT,
    REVIEW_THRESHOLD_VND,
    VoucherOptions,
    new_contract,
)

__all__ = [
    "CASH_ECONOMIC_CODES",
    "CASH_REVIEW_THRESHOLD_VND",
    "CONTRACT_THRESHOLD_VND",
    "DEFAULT_NOW",
    "ECONOMIC_CODES",
    "ICT",
    "REVIEW_THRESHOLD_VND",
    "BudgetLine",
    "CertificateAuthority",
    "Faulty",
    "Ids",
    "SignerIdentity",
    "StandIn",
    "Testbed",
    "UnitKit",
    "VoucherOptions",
    "all_faults",
    "budget_level_of",
    "cached_key",
    "fault_variants",
    "invalid_voucher",
    "make_ca",
    "make_signer",
    "new_contract",
    "sign_payload",
]
