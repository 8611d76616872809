"""A crash at a chosen point of a send, for the tests that prove nothing is lost.

`NOTIFY_FAULT=<point>:<n>` makes the process kill itself with SIGKILL the n-th time a sender
passes `<point>`; unset, as in production, it does nothing. The points, in a send's order:

- `locked`: the delivery row is locked, nothing recorded or sent yet;
- `started`: the attempts are recorded (one per recipient of the mail), the mail has not left;
- `taken`: the server (or portal) has taken it, the ledger does not say so yet;
- `recorded`: the ledger says sent.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass

POINTS = ("locked", "started", "taken", "recorded")


@dataclass
class CrashPoint:
    point: str | None = None
    after: int = 0
    passed: int = 0

    @classmethod
    def parse(cls, spec: str) -> CrashPoint:
        if not spec:
            return cls()
        point, _, count = spec.partition(":")
        if point not in POINTS or not count.isdigit() or int(count) < 1:
            raise ValueError(f"NOTIFY_FAULT must be <{'|'.join(POINTS)}>:<n ≥ 1>, not {spec!r}")
        return cls(point, int(count))

    def reached(self, point: str) -> None:
        if point != self.point:
            return
        self.passed += 1
        if self.passed >= self.after:
            os.kill(os.getpid(), signal.SIGKILL)
