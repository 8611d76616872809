"""The examples of docs/contract.md are valid messages: the document keeps up with the models."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import BaseModel

from shared.contract import (
    AllocationRecorded,
    CapitalPlanRecorded,
    Envelope,
    InvestmentSubmitted,
    RegistrationSubmitted,
    StatusChanged,
    SupportRequested,
    VoucherSubmitted,
)

pytestmark = pytest.mark.fast

CONTRACT = Path(__file__).resolve().parents[2] / "docs" / "contract.md"
# Each example is recognised by a member only it has.
MODELS: dict[str, type[BaseModel]] = {
    "event_id": Envelope,
    "signers": RegistrationSubmitted,
    "allocation_id": AllocationRecorded,
    "form": VoucherSubmitted,
    "sequence": StatusChanged,
    "plan_id": CapitalPlanRecorded,
    "completed_value": InvestmentSubmitted,
    "request_id": SupportRequested,
}


def examples() -> list[dict[str, Any]]:
    blocks = re.findall(r"```json\n(.*?)```", CONTRACT.read_text(), flags=re.DOTALL)
    return [orjson.loads(block) for block in blocks]


def test_the_contract_shows_one_example_of_each_message() -> None:
    shown = sorted(key for example in examples() for key in MODELS if key in example)
    assert shown == sorted(MODELS)


@pytest.mark.parametrize("member", sorted(MODELS))
def test_each_example_is_a_valid_message(member: str) -> None:
    example = next(e for e in examples() if member in e)
    MODELS[member].model_validate(example)
