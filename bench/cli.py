"""`python -m bench` (`make bench`): run the benchmark and write JSON, Markdown and a PNG."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bench.report import markdown, plot, plot_cpu
from bench.run import Options, run

cli = typer.Typer(add_completion=False, help=__doc__)
console = Console()


@cli.command()
def main(
    size: Annotated[int, typer.Option(envvar="BENCH_SIZE", help="Vouchers in the run.")] = 20000,
    rates: Annotated[
        str, typer.Option(envvar="BENCH_RATES", help="Fixed offered loads, per second.")
    ] = "50,200,1000",
    seconds: Annotated[
        float, typer.Option(envvar="BENCH_PHASE_SECONDS", help="Length of each fixed-load phase.")
    ] = 10.0,
    profile: Annotated[
        bool, typer.Option(envvar="BENCH_PROFILE", help="py-spy the services in the fast phase.")
    ] = True,
    population: Annotated[
        str,
        typer.Option(
            envvar="BENCH_POPULATION",
            help="small, or full: a second fast phase with 120,000 units and 640,000 lines.",
        ),
    ] = "small",
    out: Annotated[Path, typer.Option(help="Where results go.")] = Path("bench/out"),
) -> None:
    """Run the whole benchmark on a stack of its own and write the results."""
    rates_list = [int(r) for r in rates.split(",") if r]
    results = run(console, Options(size, rates_list, seconds, out, profile, population))
    results["machine"] = f"{platform.machine()}, {os.cpu_count()} cores"
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    table = markdown(results)
    (out / "results.md").write_text(table)
    plot(results, out / "throughput-latency.png")
    pictures = "throughput-latency.png" + (
        " and cpu-per-phase.png" if plot_cpu(results, out / "cpu-per-phase.png") else ""
    )
    console.print(table)
    console.print(f"Written to {out}/results.json, results.md, {pictures}")
