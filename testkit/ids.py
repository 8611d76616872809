"""Identifiers and plausible field values drawn from one seeded `random.Random`.

Identifiers are unique within one `Ids` (counters start at a seeded offset); share one
instance between kits that feed the same system, and use a new seed per run against a
stack that keeps state, or its event ids will be seen as already processed.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from typing import Final

FAMILY_NAMES: Final = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ")
GIVEN_NAMES: Final = ("Văn An", "Thị Bình", "Minh Châu", "Quốc Dũng", "Thu Hà", "Đức Long")
UNIT_KINDS: Final = ("Trường THPT", "Trường THCS", "Bệnh viện đa khoa", "Trạm y tế", "UBND xã")
PLACES: Final = ("Lai Châu", "Điện Biên", "Sơn La", "Hà Giang", "Cao Bằng", "Lào Cai")
COMPANIES: Final = ("Công ty TNHH ABC", "Công ty CP Thiết bị Minh Phát", "Công ty TNHH Sao Mai")
BANK_CODES: Final = ("01201001", "01202002", "79203001", "01310001")


@dataclass
class Ids:
    rng: random.Random
    _next: dict[str, int] = field(default_factory=dict, init=False, repr=False)
    _unit_codes: set[str] = field(default_factory=set, init=False, repr=False)

    @classmethod
    def seeded(cls, seed: int) -> Ids:
        return cls(random.Random(seed))

    def event_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _sequence(self, kind: str, digits: int) -> int:
        current = self._next.get(kind)
        if current is None:
            current = self.rng.randrange(10 ** (digits - 1))
        self._next[kind] = current + 1
        return current % int(10**digits)

    def voucher_dossier_id(self, *, treasury_code: str, year: int) -> str:
        return f"CT-{treasury_code}-{year}-{self._sequence('CT', 8):08d}"

    def registration_dossier_id(self, *, treasury_code: str, year: int) -> str:
        return f"DK-{treasury_code}-{year}-{self._sequence('DK', 6):06d}"

    def allocation_id(self, *, treasury_code: str, year: int) -> str:
        return f"DT-{year}-{treasury_code}-{self._sequence('DT', 6):06d}"

    def unit_code(self, *, first_digit: str = "1") -> str:
        """A 7-digit unit budget code not yet handed out by this instance."""
        while True:
            code = f"{first_digit}{self.rng.randrange(10**6):06d}"
            if code not in self._unit_codes:
                self._unit_codes.add(code)
                return code

    def reserve_unit_code(self, code: str) -> str:
        """Record a code chosen by the caller so that `unit_code` never hands it out."""
        self._unit_codes.add(code)
        return code

    def digits(self, count: int) -> str:
        return "".join(self.rng.choice("0123456789") for _ in range(count))

    def sha256_hex(self) -> str:
        return self.rng.randbytes(32).hex()

    def person_name(self) -> str:
        return f"{self.rng.choice(FAMILY_NAMES)} {self.rng.choice(GIVEN_NAMES)}"

    def place(self) -> str:
        return self.rng.choice(PLACES)
