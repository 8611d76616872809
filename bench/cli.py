"""`python -m bench` (`make bench`): run the benchmark and write JSON, Markdown and a PNG."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Annotated, Any

import matplotlib
import typer
from rich.console import Console

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench.run import run

cli = typer.Typer(add_completion=False, help=__doc__)
console = Console()


def markdown(r: dict[str, Any]) -> str:
    def ms(x: float) -> str:
        return f"{x * 1000:.0f} ms"

    burst = r["as_fast_as_possible"]
    lines = [
        f"Run of {r['size']} vouchers from {r['units']} units on {r['machine']}.",
        "",
        "| phase | offered | vouchers | throughput | p50 | p95 | p99 | max |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for p in [*r["fixed_rates"], burst]:
        lat = p["latency_seconds"]
        offered = f"{p['offered_per_second']}/s" if p["offered_per_second"] else "max"
        lines.append(
            f"| {'fixed' if p['offered_per_second'] else 'as fast as possible'} | "
            f"{offered} | {p['finished']}/{p['vouchers']} | "
            f"{p['throughput_per_second']:.0f}/s | {ms(lat['p50'])} | "
            f"{ms(lat['p95'])} | {ms(lat['p99'])} | {ms(lat['max'])} |"
        )
    lines += [
        "",
        f"Transport ceiling (pass-through consumers, same {4} topics): "
        f"{r['ceiling_per_second']:.0f} messages/s; pipeline at "
        f"{r['ceiling_ratio'] * 100:.0f}% of it.",
        "",
        "| service | CPU during the fast phase (cores) | peak RSS |",
        "|---|---|---|",
    ]
    for name, share in r["cpu_share_during_burst"].items():
        lines.append(f"| {name} | {share:.2f} | {r['peak_rss_mib'][name]:.0f} MiB |")
    return "\n".join(lines) + "\n"


def plot(r: dict[str, Any], path: Path) -> None:
    timeline = r["timeline"]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    seconds = [t["second"] for t in timeline]
    top.plot(seconds, [t["throughput"] for t in timeline])
    top.axhline(r["ceiling_per_second"], linestyle="--", color="grey", label="transport ceiling")
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


@cli.command()
def main(
    size: Annotated[int, typer.Option(envvar="BENCH_SIZE", help="Vouchers in the run.")] = 20000,
    rates: Annotated[
        str, typer.Option(envvar="BENCH_RATES", help="Fixed offered loads, per second.")
    ] = "50,200,1000",
    seconds: Annotated[
        float, typer.Option(envvar="BENCH_PHASE_SECONDS", help="Length of each fixed-load phase.")
    ] = 10.0,
    out: Annotated[Path, typer.Option(help="Where results go.")] = Path("bench/out"),
) -> None:
    """Run the whole benchmark on a stack of its own and write the results."""
    results = run(
        console, size=size, rates=[int(r) for r in rates.split(",") if r], seconds=seconds, out=out
    )
    results["machine"] = f"{platform.machine()}, {os.cpu_count()} cores"
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    table = markdown(results)
    (out / "results.md").write_text(table)
    plot(results, out / "throughput-latency.png")
    console.print(table)
    console.print(f"Written to {out}/results.json, results.md and throughput-latency.png")
