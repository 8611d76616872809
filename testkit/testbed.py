"""A scenario: one CA, one id source and one clock shared by the units it creates."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Final

from shared.contract import Algorithm, SignerRole
from testkit.ids import UNIT_KINDS, Ids
from testkit.pki import make_ca, make_signer
from testkit.units import (
    DEFAULT_NOW,
    SECTOR_CODES,
    SIGNER_VALIDITY_AFTER,
    SIGNER_VALIDITY_BEFORE,
    SOURCE_CODES,
    TITLES,
    BudgetLine,
    UnitKit,
)

# docs/domain.md: chapter ranges by budget level (central 1, province 2, commune 4).
CHAPTER_RANGES: Final = {1: (1, 399), 2: (400, 599), 4: (800, 989)}
PRINCIPALS: Final = (SignerRole.ACCOUNT_HOLDER, SignerRole.CHIEF_ACCOUNTANT)


def budget_level_of(chapter: str) -> int:
    """The budget level whose chapter range holds `chapter`; raises `ValueError` otherwise."""
    for level, (low, high) in CHAPTER_RANGES.items():
        if low <= int(chapter) <= high:
            return level
    raise ValueError(f"chapter {chapter} is in no budget level's range")


class Testbed:
    """A CA, an id source and a clock shared by the units of one scenario.

    `seed=None` picks a fresh seed (kept in `.seed` to replay a run). `now` is fixed by
    default so that tests are reproducible; pass the real time when feeding a live stack.
    `ca.write_bundle(path)` writes the file for TRUSTED_CA_FILE.
    """

    __test__ = False  # not a pytest test class, despite its name

    def __init__(
        self,
        seed: int | None = None,
        *,
        now: dt.datetime = DEFAULT_NOW,
        algorithm: Algorithm = "RS256",
    ) -> None:
        self.seed = secrets.randbits(32) if seed is None else seed
        self.ids = Ids.seeded(self.seed)
        self.ca = make_ca(seed=self.seed)
        self.now = now
        self.algorithm: Algorithm = algorithm
        self.units: list[UnitKit] = []

    def unit(
        self,
        *,
        code: str | None = None,
        treasury_code: str | None = None,
        chapter: str | None = None,
        deputies: bool = False,
        algorithm: Algorithm | None = None,
        budget_line_count: int = 2,
        project: bool = False,
    ) -> UnitKit:
        """A new unit with an account holder and a chief accountant (and their deputies);
        `project`: an investment project, whose code starts with 7."""
        rng = self.ids.rng
        first_digit = "7" if project else "1"
        code = (
            self.ids.reserve_unit_code(code)
            if code
            else self.ids.unit_code(first_digit=first_digit)
        )
        if chapter is None:
            low, high = CHAPTER_RANGES[rng.choice(tuple(CHAPTER_RANGES))]
            chapter = f"{rng.randint(low, high):03d}"
        roles = (
            list(TITLES) if deputies else [SignerRole.ACCOUNT_HOLDER, SignerRole.CHIEF_ACCOUNTANT]
        )
        pairs = [BudgetLine(s, src) for s in SECTOR_CODES for src in SOURCE_CODES]
        kit = UnitKit(
            code=code,
            name=f"{rng.choice(UNIT_KINDS)} {self.ids.place()} số {rng.randint(1, 30)}",
            address=f"Số {rng.randint(1, 300)}, đường Trần Phú, tỉnh {self.ids.place()}",
            parent_code=f"{code[:3]}0000",
            budget_level=budget_level_of(chapter),
            chapter=chapter,
            treasury_code=treasury_code or f"{rng.randint(1, 999):04d}",
            account_no=f"9523.2.{code}",
            signers={
                role: make_signer(
                    self.ca,
                    unit_code=code,
                    role=role,
                    algorithm=algorithm or self.algorithm,
                    not_before=self.now - SIGNER_VALIDITY_BEFORE,
                    not_after=self.now + SIGNER_VALIDITY_AFTER,
                    full_name=self.ids.person_name(),
                    variant=str(self.seed),
                )
                for role in roles
            },
            budget_lines=tuple(rng.sample(pairs, budget_line_count)),
            ca=self.ca,
            ids=self.ids,
            now=self.now,
            label=f"{self.seed}/{code}",
        )
        self.units.append(kit)
        return kit
