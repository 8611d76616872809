"""The ports of the stacks that `make test` and `make bench` start beside `make run`'s.

Each such stack listens on `make run`'s default ports plus an offset of its own (10000 for the
test suite's stack, 10100 for the `make run` that the end-to-end test starts, 10200 for
`make bench`, …), plus `DVC_TEST_PORT_SHIFT`, so that two checkouts can test side by side.

The offsets keep every port between 1024 and 32767: Linux hands out 32768–60999 to outgoing
connections (`net.ipv4.ip_local_port_range`), where a listener could find its port taken.
No two default ports differ by a multiple of 100, so stacks whose offsets are different
multiples of 100 (any two stacks below, under any two shifts, and `make run`) never share one.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from stack.config import StackSettings

# The stacks started beside `make run`, and their offsets from its ports.
OFFSETS = {
    "test": 10000,  # the test suite's Kafka, PostgreSQL and SMTP sink
    "test-run": 10100,  # `make run` as the end-to-end test starts it
    "bench": 10200,  # `make bench`
    "test-live": 10300,  # a stand-in for a user's running stack (tests/stack/test_isolation.py)
    "test-nested": 10400,  # the suite run inside that test, beside the stand-in
    "test-late": 10500,  # a broker started late (tests/shared/test_startup.py)
    "chaos": 10600,  # `make chaos`, and its small run in the suite
}
HIGHEST_SHIFT = 13000
LOWEST_EPHEMERAL = 32768


class PortShift(BaseSettings):
    """`DVC_TEST_PORT_SHIFT`: moves every stack above by that many ports."""

    model_config = SettingsConfigDict(env_prefix="DVC_TEST_", extra="ignore")

    port_shift: int = Field(default=0, ge=0, le=HIGHEST_SHIFT, multiple_of=1000)


def default_ports() -> dict[str, int]:
    """Every port field of the stack's settings with `make run`'s default."""
    return {
        name: int(field.default)
        for name, field in StackSettings.model_fields.items()
        if name.endswith("_port")
    }


def ports(stack: str, shift: int | None = None) -> dict[str, int]:
    """The ports of stack `stack` (a key of OFFSETS), by settings field name."""
    offset = OFFSETS[stack] + (PortShift().port_shift if shift is None else shift)
    return {name: port + offset for name, port in default_ports().items()}


def stack_settings(stack: str, var_dir: Path, shift: int | None = None) -> StackSettings:
    """Settings of stack `stack`: its ports, its files in `var_dir`, the rest by default."""
    return StackSettings().model_copy(update={"var_dir": var_dir, **ports(stack, shift)})
