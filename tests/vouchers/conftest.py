"""Registration (auto approval) and vouchers as real processes, on topics of their own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from stack.runner import Endpoints
from tests.support import Pipeline, new_pipeline

__all__ = ["Pipeline"]


@pytest.fixture(scope="module")
def pipeline(
    stack: Endpoints, ca_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    p = new_pipeline(stack, ca_file, tmp_path_factory)
    try:
        p.launch("registration", "registration", REGISTRATION_APPROVAL="auto")
        p.launch("vouchers", "vouchers")
        p.wait_ready()
        yield p
    finally:
        p.stop_all()
