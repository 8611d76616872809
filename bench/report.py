"""The results of a run as Markdown tables and a throughput/latency plot."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def _ms(x: float) -> str:
    return f"{x * 1000:.0f} ms"


def phases(r: dict[str, Any]) -> list[str]:
    lines = [
        f"Run of {r['size']} vouchers from {r['units']} units on {r['machine']}.",
        "",
        "| phase | offered | vouchers | throughput | p50 | p95 | p99 | max |",
        "|---|---|---|---|---|---|---|---|",
    ]
    rows = [*r["fixed_rates"], r["as_fast_as_possible"]]
    rows += [r["full_population"]] if "full_population" in r else []
    for p in rows:
        lat = p["latency_seconds"]
        offered = f"{p['offered_per_second']}/s" if p["offered_per_second"] else "max"
        name = "fixed" if p["offered_per_second"] else "as fast as possible"
        name += f", {p['units']:,} units" if "units" in p else ""
        lines.append(
            f"| {name} | "
            f"{offered} | {p['finished']}/{p['vouchers']} | "
            f"{p['throughput_per_second']:.0f}/s | {_ms(lat['p50'])} | "
            f"{_ms(lat['p95'])} | {_ms(lat['p99'])} | {_ms(lat['max'])} |"
        )
    lines += ["", "| transport ceiling (same 4 topics, no work) | messages/s | pipeline at |"]
    lines.append("|---|---|---|")
    for layer, rate in r["ceilings_per_second"].items():
        ratio = r["ceiling_ratios"].get(layer, 0.0)
        lines.append(f"| {layer} pass-through | {rate:.0f}/s | {ratio * 100:.0f}% |")
    return lines


def cpu(r: dict[str, Any]) -> list[str]:
    c = r["as_fast_as_possible"]["cpu"]
    lines = [
        "",
        f"CPU budget of the fast phase ({c['vouchers']} vouchers in {c['wall_seconds']:.1f} s):",
        "",
        "| process | CPU s | CPU ms per voucher | cores busy | peak RSS |",
        "|---|---|---|---|---|",
    ]
    for name, row in c["rows"].items():
        rss = r["peak_rss_mib"].get(name)
        lines.append(
            f"| {name} | {row['cpu_seconds']:.1f} | {row['cpu_ms_per_voucher']:.2f} | "
            f"{row['cores_busy']:.2f} | {f'{rss:.0f} MiB' if rss else ''} |"
        )
    lines += [
        f"| **sum** | {c['total_cpu_seconds']:.1f} | {c['total_cpu_ms_per_voucher']:.2f} | "
        f"{c['total_cpu_seconds'] / c['wall_seconds']:.2f} of {c['cores']} | |",
        "",
        f"The run's processes used {c['share_of_machine'] * 100:.0f}% of {c['cores']} cores × "
        f"{c['wall_seconds']:.1f} s; the machine as a whole (anyone's processes) was "
        f"{c['machine_busy_share'] * 100:.0f}% busy.",
    ]
    return lines


def _counted(r: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    """The phases whose CPU was counted, in order, and their names (the offered load, or
    `max` for as fast as possible)."""
    rows = [p for p in [*r["fixed_rates"], r["as_fast_as_possible"]] if "cpu" in p]
    names = [f"{p['offered_per_second']}/s" if p["offered_per_second"] else "max" for p in rows]
    return names, rows


def by_phase(r: dict[str, Any]) -> list[str]:
    """CPU ms per voucher of each process in each phase, and PostgreSQL's statements."""
    names, rows = _counted(r)
    if len(rows) < 2:
        return []
    lines = [
        "",
        "CPU per voucher in each phase (ms; a voucher costs more when its batches are small):",
        "",
        "| process | " + " | ".join(f"offered {n}" for n in names) + " |",
        "|---|" + "---|" * len(rows),
    ]
    processes: list[str] = []
    for p in rows:
        processes += [n for n in p["cpu"]["rows"] if n not in processes]
    for name in processes:
        cells = []
        for p in rows:
            row = p["cpu"]["rows"].get(name)
            cells.append(f"{row['cpu_ms_per_voucher']:.2f}" if row else "")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    totals = [
        f"{p['cpu']['total_cpu_ms_per_voucher']:.2f} ({p['cpu']['share_of_machine'] * 100:.0f}%"
        " of the machine)"
        for p in rows
    ]
    lines.append("| **sum** | " + " | ".join(totals) + " |")
    calls = [
        f"{p['statements']['calls_per_voucher']:.1f} / {p['statements']['ms_per_voucher']:.2f} ms"
        if "statements" in p
        else ""
        for p in rows
    ]
    lines.append("| PostgreSQL statements per voucher / their time | " + " | ".join(calls) + " |")
    return lines


def floors(r: dict[str, Any]) -> list[str]:
    """The services' transport offered each fixed load with no work done, beside the pipeline."""
    fs = r.get("floors") or []
    if not fs:
        return []
    pipeline = {p["offered_per_second"]: p for p in r["fixed_rates"]}
    names = sorted(fs[0]["cpu"]["rows"])
    lines = [
        "",
        "Transport floor: the services' Faust pass-through over the same 4 topics offered each "
        "fixed load, no work done, beside the pipeline at the same load (latency p50 / p99; CPU "
        "in ms per message, and the machine's busy share over the phase):",
        "",
        "| offered | floor p50 / p99 | "
        + " | ".join(f"floor CPU: {n}" for n in names)
        + " | floor CPU sum | machine busy, floor | pipeline p50 / p99 | pipeline CPU sum "
        "| machine busy, pipeline |",
        "|---|---|" + "---|" * len(names) + "---|---|---|---|---|",
    ]
    for f in fs:
        lat, c = f["latency_seconds"], f["cpu"]
        cells = [f"{c['rows'][n]['cpu_ms_per_voucher']:.2f}" for n in names]
        arrived = "" if f["arrived"] == f["messages"] else f" ({f['arrived']}/{f['messages']})"
        row = (
            f"| {f['offered_per_second']}/s | {_ms(lat['p50'])} / {_ms(lat['p99'])}{arrived} | "
            + " | ".join(cells)
            + f" | {c['total_cpu_ms_per_voucher']:.2f} | {c['machine_busy_share'] * 100:.0f}% |"
        )
        p = pipeline.get(f["offered_per_second"])
        if p and "cpu" in p:
            pl, pc = p["latency_seconds"], p["cpu"]
            row += (
                f" {_ms(pl['p50'])} / {_ms(pl['p99'])} | {pc['total_cpu_ms_per_voucher']:.2f} | "
                f"{pc['machine_busy_share'] * 100:.0f}% |"
            )
        else:
            row += " | | |"
        lines.append(row)
    return lines


def statements(r: dict[str, Any]) -> list[str]:
    s = r["as_fast_as_possible"].get("statements")
    if not s:
        return []
    lines = [
        "",
        f"PostgreSQL's statements in the fast phase (`pg_stat_statements`): {s['calls']:,} calls "
        f"({s['calls_per_voucher']:.1f} per voucher) of {s['distinct_statements']} distinct "
        f"statements, {s['exec_ms'] / 1000:.1f} s executing and {s['plan_ms'] / 1000:.1f} s "
        f"planning, {s['ms_per_voucher']:.2f} ms per voucher (time in the server, waits for "
        "locks included; parsing is not counted). PostgreSQL 18 tells statements apart by the "
        "names of their tables, not their schemas: the same statement on every service's outbox "
        "(or inbox) counts as one, under the text of the service that ran it first. The "
        "costliest:",
        "",
        "| statement | calls | rows | plans | execution ms | planning ms | ms per voucher |",
        "|---|---|---|---|---|---|---|",
    ]
    per = max(s["vouchers"], 1)
    for e in s["top"]:
        text = e["statement"].replace("|", "\\|")
        text = text if len(text) <= 160 else text[:157] + "…"
        lines.append(
            f"| `{text}` | {e['calls']:,} | {e['rows']:,} | {e['plans']:,} | "
            f"{e['exec_ms']:.0f} | {e['plan_ms']:.0f} | {(e['exec_ms'] + e['plan_ms']) / per:.3f} |"
        )
    return lines


def population(r: dict[str, Any]) -> list[str]:
    if "full_population_error" in r:
        return ["", f"- the full population's phase failed: {r['full_population_error']}"]
    if "peak_rss_mib_full" not in r:
        return []
    units = r["full_population"]["units"]
    lines = ["", f"| service | peak RSS, {r['units']} units | peak RSS, {units:,} units |"]
    lines.append("|---|---|---|")
    for name, full in r["peak_rss_mib_full"].items():
        lines.append(f"| {name} | {r['peak_rss_mib'].get(name, 0):.0f} MiB | {full:.0f} MiB |")
    return lines


def latency(r: dict[str, Any]) -> list[str]:
    budgets = {k: b for k, b in r["latency_budget"].items() if "error" not in b}
    failed = [
        f"- latency budget of {k}: {b['error']}"
        for k, b in r["latency_budget"].items()
        if "error" in b
    ]
    if not budgets:
        return ["", *failed]
    names = list(budgets)
    lines = ["", "Latency budget (a sample of vouchers of each phase; mean / p50 in ms):", ""]
    lines.append("| segment | " + " | ".join(names) + " |")
    lines.append("|---|" + "---|" * len(names))
    segments: list[str] = []
    for b in budgets.values():
        segments += [s for s in b["segments_ms"] if s not in segments]
    for s in segments:
        cells = []
        for b in budgets.values():
            v = b["segments_ms"].get(s)
            cells.append(f"{v['mean']:.0f} / {v['p50']:.0f}" if v else "")
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    ends = [
        f"{b['end_to_end_ms']['mean']:.0f} / {b['end_to_end_ms']['p50']:.0f}"
        for b in budgets.values()
    ]
    lines.append("| **submission to final status** | " + " | ".join(ends) + " |")
    sizes = [
        ", ".join(f"{k} {v:.0f}" for k, v in b["mean_batch_size"].items()) for b in budgets.values()
    ]
    lines.append("| mean batch (messages per transaction) | " + " | ".join(sizes) + " |")
    done = [f"{b['complete']}/{b['sampled']}" for b in budgets.values()]
    lines.append("| vouchers traced / sampled | " + " | ".join(done) + " |")
    return lines + failed


def profiles(r: dict[str, Any]) -> list[str]:
    p = r["profiles"]
    lines = ["", "Top frames, py-spy during the fast phase (flame graphs: `flame-<service>.svg`):"]
    for name, top in p["services"].items():
        lines += [
            "",
            f"**{name}** ({top['samples']} samples, {top['in_loop'] * 100:.0f}% of them in the "
            "event loop itself, mostly waiting for sockets: `Runner.run` is uvloop's C code)",
            "",
        ]
        lines += ["| on top of the stack (self) | anywhere on it (the project's functions) |"]
        lines.append("|---|---|")
        for own, total in itertools.zip_longest(top["self"][:6], top["total"][:6]):
            lines.append(f"| {_frame(own)} | {_frame(total)} |")
    lines += ["", *(f"- {problem}" for problem in p["problems"])] if p["problems"] else []
    return lines


def _frame(row: tuple[str, float] | None) -> str:
    return f"`{row[0]}` {row[1] * 100:.0f}%" if row else ""


def markdown(r: dict[str, Any]) -> str:
    return (
        "\n".join(
            [
                *phases(r),
                *cpu(r),
                *by_phase(r),
                *floors(r),
                *statements(r),
                *population(r),
                *latency(r),
                *profiles(r),
            ]
        )
        + "\n"
    )


def plot(r: dict[str, Any], path: Path) -> None:
    timeline = r["timeline"]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    seconds = [t["second"] for t in timeline]
    top.plot(seconds, [t["throughput"] for t in timeline], color="C0", label="the pipeline")
    for i, (layer, rate) in enumerate(r["ceilings_per_second"].items()):
        top.axhline(rate, linestyle="--", color=f"C{i + 1}", label=f"{layer} transport ceiling")
    top.set_ylabel("vouchers/s to a final status")
    top.legend()
    bottom.plot(seconds, [t["p50"] * 1000 for t in timeline], label="p50")
    bottom.plot(seconds, [t["p99"] * 1000 for t in timeline], label="p99")
    bottom.set_ylabel("latency (ms)")
    bottom.set_xlabel("seconds into the as-fast-as-possible phase")
    bottom.legend()
    figure.suptitle(f"{r['size']} vouchers, submission to final status")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def plot_cpu(r: dict[str, Any], path: Path) -> bool:
    """CPU ms per voucher of each process in each phase, as stacked bars, with the transport
    floor at each fixed load as a dashed line (False: no phase was counted)."""
    names, rows = _counted(r)
    if not rows:
        return False
    totals: dict[str, float] = {}
    for p in rows:
        for name, row in p["cpu"]["rows"].items():
            if not name.startswith("py-spy"):
                totals[name] = totals.get(name, 0.0) + row["cpu_ms_per_voucher"]
    processes = sorted(totals, key=lambda n: -totals[n])
    figure, axes = plt.subplots(figsize=(10, 5))
    bottom = [0.0] * len(rows)
    for i, name in enumerate(processes):
        values = [p["cpu"]["rows"].get(name, {}).get("cpu_ms_per_voucher", 0.0) for p in rows]
        axes.bar(names, values, bottom=bottom, label=name, color=f"C{i % 10}")
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    for x, (total, p) in enumerate(zip(bottom, rows, strict=True)):
        busy = p["cpu"]["share_of_machine"] * 100
        axes.annotate(f"{total:.1f} ms, {busy:.0f}% busy", (x, total), ha="center", va="bottom")
    # The transport floor at the same load: what the pass-through alone costs per message.
    floors = {f["offered_per_second"]: f["cpu"] for f in r.get("floors") or []}
    drawn = False
    for x, p in enumerate(rows):
        floor = floors.get(p["offered_per_second"])
        if floor is None:
            continue
        cost = floor["total_cpu_ms_per_voucher"]
        axes.hlines(
            cost,
            x - 0.45,
            x + 0.45,
            colors="black",
            linestyles="--",
            linewidth=2,
            # A label starting with "_" stays out of the legend: the floor is listed once.
            label="_floor" if drawn else "transport floor: pass-through, no work",
        )
        axes.annotate(
            f"floor {cost:.1f} ms, machine {floor['machine_busy_share'] * 100:.0f}% busy",
            (x + 0.43, cost),
            xytext=(0, -4),
            textcoords="offset points",
            ha="right",
            va="top",
            fontsize="small",
            bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none", "pad": 1},
        )
        drawn = True
    axes.set_xlabel("offered load (vouchers/s; max: as fast as possible)")
    axes.set_ylabel("CPU ms per voucher")
    axes.set_title("Where each voucher's CPU goes, by offered load")
    axes.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return True
