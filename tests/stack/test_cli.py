"""`python -m stack status|env`, as a newcomer uses them before and after starting the stack."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support import ROOT


def _stack(args: list[str], var_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stack", *args],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "STACK_VAR_DIR": str(var_dir), "HOME": str(var_dir)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_status_with_nothing_running_says_so_and_succeeds(tmp_path: Path) -> None:
    answer = _stack(["status"], tmp_path)
    assert answer.returncode == 0, answer.stderr
    assert "not running" in answer.stderr


def test_env_prints_what_a_service_started_by_hand_needs(tmp_path: Path) -> None:
    assert _stack(["env"], tmp_path).returncode == 1
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "trusted-ca.pem").write_text("-")
    state = {
        "kafka_bootstrap_servers": "127.0.0.1:9092",
        "database_url": "postgresql+asyncpg://dvc@127.0.0.1:5432/dvc",
        "smtp_host": "127.0.0.1",
        "smtp_port": 1025,
        "started": {},
    }
    (tmp_path / "stack.json").write_text(json.dumps(state))
    answer = _stack(["env"], tmp_path)
    assert answer.returncode == 0, answer.stderr
    seen = "$KAFKA_BOOTSTRAP_SERVERS|$DATABASE_URL|$SMTP_PORT|$TRUSTED_CA_FILE"
    shell = f'{answer.stdout}\necho "{seen}"'
    printed = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, check=True)
    assert printed.stdout.strip() == (
        "127.0.0.1:9092|postgresql+asyncpg://dvc@127.0.0.1:5432/dvc|1025|"
        f"{tmp_path / 'demo' / 'trusted-ca.pem'}"
    )
    assert "# export TREASURY_DIRECTORY=" in answer.stdout
