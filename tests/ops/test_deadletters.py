"""A poison message, from the dead-letter topic back into the pipeline, by an operator."""

from __future__ import annotations

import re
from pathlib import Path

from shared.contract import encode
from testkit import Testbed
from tests.ops.conftest import Dvc, registered
from tests.support import Pipeline, Producer, TopicLog, poll


async def test_a_poison_message_is_listed_shown_fixed_from_a_file_and_replayed_once(
    bed: Testbed,
    pipeline: Pipeline,
    status: TopicLog,
    producer: Producer,
    dvc: Dvc,
    tmp_path: Path,
) -> None:
    unit = await registered(bed, pipeline, status, producer)
    voucher = unit.voucher(total_amount=3_000_000)
    dossier_id = voucher.payload["dossier_id"]
    whole = encode(voucher)
    await producer.send(pipeline.ns.topics.vouchers, whole[: len(whole) // 2], unit.code)

    listed: list[str] = []

    def listed_now() -> str:
        done = dvc("deadletters", "list", "--topic", pipeline.ns.topics.vouchers)
        assert done.returncode == 0, done.stderr
        listed[:] = [line for line in done.stdout.splitlines() if unit.code in line]
        return done.stdout

    await poll(
        listed_now,
        lambda _: bool(listed),
        within=60,
        every=1,
        what=f"a dead letter of unit {unit.code} in `dvc deadletters list` (what it printed)",
    )
    [line] = listed
    assert pipeline.ns.topics.vouchers in line
    letter_id = re.search(r"\b(\d+:\d+)\b", line)
    assert letter_id is not None, line
    letter = letter_id.group(1)

    shown = dvc("deadletters", "show", letter)
    assert shown.returncode == 0, shown.stderr
    assert f"source topic: {pipeline.ns.topics.vouchers}" in shown.stdout
    assert "error:" in shown.stdout
    assert f"key:          {unit.code}" in shown.stdout

    fixed = tmp_path / "fixed.json"
    fixed.write_bytes(whole)
    replayed = dvc("deadletters", "replay", letter, "--from-file", str(fixed), "--by", "ops.an")
    assert replayed.returncode == 0, replayed.stderr
    assert "replayed by ops.an" in replayed.stdout

    events = await status.statuses(dossier_id, {"approved", "refused", "returned", "rejected"})
    assert [(e["status"], e["sequence"]) for e in events] == [("received", 1), ("approved", 2)]
    rows = pipeline.query(
        "SELECT replayed_by, edited, new_offset IS NOT NULL FROM ops.replays "
        "WHERE deadletter_topic = %s AND deadletter_partition = %s AND deadletter_offset = %s",
        pipeline.ns.topics.deadletter,
        int(letter.split(":")[0]),
        int(letter.split(":")[1]),
    )
    assert rows == [("ops.an", True, True)]

    again = dvc("deadletters", "replay", letter, "--from-file", str(fixed))
    assert again.returncode == 1
    assert "already replayed" in again.stderr
    assert "ops.an" in again.stderr
    assert len(again.stderr.strip().splitlines()) <= 3
    shown_after = dvc("deadletters", "show", letter)
    assert "replayed by ops.an" in shown_after.stdout


async def test_an_unreachable_broker_is_named_with_the_setting_to_change(dvc: Dvc) -> None:
    done = dvc("deadletters", "list", KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1")
    assert done.returncode == 1
    assert "127.0.0.1:1" in done.stderr
    assert "KAFKA_BOOTSTRAP_SERVERS" in done.stderr


async def test_an_unknown_dead_letter_is_one_line_and_exit_1(dvc: Dvc, pipeline: Pipeline) -> None:
    done = dvc("deadletters", "show", "0:999999")
    assert done.returncode == 1
    assert "does not exist" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
