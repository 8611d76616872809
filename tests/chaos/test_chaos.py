"""A small `make chaos`: about a thousand vouchers under every fault, every promise counted."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import PORT_SHIFT, ROOT
from tests.isolation import scrub

SEED = "2026"


@pytest.mark.stack
def test_a_small_chaos_run_breaks_no_promise(tmp_path_factory: pytest.TempPathFactory) -> None:
    out = tmp_path_factory.mktemp("chaos")
    # The run starts a stack of its own: none of the product's variables (which point at the
    # suite's stack) may reach it.
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("CHAOS_")}
    scrub(inherited)
    env = {
        **inherited,
        "CHAOS_VOUCHERS": "1000",
        "CHAOS_RATE": "40",
        "CHAOS_SEED": SEED,
        "CHAOS_OUT": str(out),
        "CHAOS_VAR_DIR": str(ROOT / "var" / "test-chaos"),
        "CHAOS_PORT_SHIFT": str(PORT_SHIFT),
        "COLUMNS": "160",
    }
    run = subprocess.run(
        [sys.executable, "-m", "chaos"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    printed = run.stdout[-6000:] + run.stderr[-3000:]
    assert (out / "result.json").exists(), f"no result.json; the run printed:\n{printed}"
    result = json.loads((out / "result.json").read_text())
    broken = {name: n for name, n in result["counts"].items() if n}
    assert not broken, f"broken promises {broken}, e.g. {result['examples']}\n{printed}"
    assert run.returncode == 0, printed
    kills = result["kills"]
    for name in ("registration", "vouchers", "control", "notify"):
        assert kills.get(name, 0) >= 2, f"{name} was killed {kills.get(name, 0)} times: {kills}"
    assert (kills.get("kafka"), kills.get("postgres"), kills.get("smtp")) == (1, 1, 1), kills
    assert result["offered"]["forged"] > 0
    assert result["offered"]["modified"] > 0
