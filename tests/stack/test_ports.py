"""The stacks started beside `make run` never share a port, and stay out of the ephemeral range."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from stack.ports import HIGHEST_SHIFT, LOWEST_EPHEMERAL, OFFSETS, PortShift, default_ports, ports


def test_every_stack_under_every_shift_has_ports_of_its_own_below_the_ephemeral_range() -> None:
    owners: dict[int, str] = {port: "make run" for port in default_ports().values()}
    for shift in range(0, HIGHEST_SHIFT + 1, 1000):
        for stack in OFFSETS:
            for name, port in ports(stack, shift).items():
                where = f"{stack} {name} (shift {shift})"
                assert 1024 < port < LOWEST_EPHEMERAL, where
                assert owners.setdefault(port, where) == where, (port, owners[port], where)


def test_the_default_ports_plus_ten_thousand_are_the_test_stacks() -> None:
    assert ports("test", 0)["kafka_port"] == 19092
    assert ports("test", 0)["pg_port"] == 15432
    assert ports("test", 4000)["smtp_port"] == 15025


@pytest.mark.parametrize("shift", ["500", "-1000", "14000"])
def test_a_shift_that_could_collide_is_refused(shift: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DVC_TEST_PORT_SHIFT", shift)
    with pytest.raises(ValidationError):
        PortShift()
