"""A picture of the operators' dashboard, drawn from Prometheus query results (PNG).

Drawn as an operator reads the dashboard: wall-clock time (ICT) on the x axis, the panel's unit
on the y axis (latencies in ms, memory in MiB, rates per second, CPU in % of a core), one line
per series, each named by the panel's legend with its labels filled in.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "pipeline-overview.json"
ICT = dt.timezone(dt.timedelta(hours=7), "ICT")
_LABEL = re.compile(r"\{\{\s*(\w+)\s*\}\}")


@dataclass(frozen=True)
class Axis:
    """How a Grafana unit is drawn: a factor applied to values and the axis label."""

    factor: float
    label: str


def axis_of(panel: dict[str, Any]) -> Axis:
    unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit", "short")
    if unit == "s":
        return Axis(1000.0, "ms")
    if unit == "bytes":
        return Axis(1 / 2**20, "MiB")
    if unit == "percentunit":
        return Axis(100.0, "% of one core")
    rates = all("rate(" in t["expr"] for t in panel["targets"])
    return Axis(1.0, "per second" if rates else _count_label(panel["title"]))


def _count_label(title: str) -> str:
    lowered = title.lower()
    if "dossiers" in lowered or "queue" in lowered:
        return "dossiers"
    if "dead letters" in lowered:
        return "dead letters"
    if "lag" in lowered or "outbox" in lowered:
        return "messages"
    return "count"


def legend(template: str | None, labels: dict[str, str], fallback: str) -> str:
    """The panel's legend with `{{label}}` filled in from the series' labels."""
    if not template:
        shown = [v for k, v in labels.items() if k not in {"job", "instance", "__name__"}]
        return ", ".join(shown) or fallback
    return _LABEL.sub(lambda m: labels.get(m.group(1), ""), template).strip()


def _series(
    prometheus: str, expr: str, start: float, end: float, step: float
) -> list[tuple[dict[str, str], list[dt.datetime], list[float]]]:
    answer = httpx.get(
        f"{prometheus}/api/v1/query_range",
        timeout=30,
        params={"query": expr, "start": start, "end": end, "step": step},
    )
    answer.raise_for_status()
    found = []
    for result in answer.json()["data"]["result"]:
        times = [dt.datetime.fromtimestamp(float(t), ICT) for t, _ in result["values"]]
        values = [float(v) for _, v in result["values"]]
        found.append((dict(result["metric"]), times, values))
    return found


def _draw(ax: Any, panel: dict[str, Any], prometheus: str, start: float, end: float) -> None:
    axis = axis_of(panel)
    seen: set[str] = set()
    for target in panel["targets"]:
        for labels, times, values in _series(prometheus, target["expr"], start, end, 5):
            name = legend(target.get("legendFormat"), labels, target["expr"][:30])
            if name in seen:  # one line per series, even when two queries return it
                continue
            seen.add(name)
            ax.plot(times, [v * axis.factor for v in values], label=name[:48], linewidth=1.4)
    ax.set_title(panel["title"], fontsize=10)
    ax.set_ylabel(axis.label, fontsize=8)
    ax.set_ylim(bottom=0)
    ax.set_xlim(dt.datetime.fromtimestamp(start, ICT), dt.datetime.fromtimestamp(end, ICT))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=ICT))  # type: ignore[no-untyped-call]
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    if seen:
        ax.legend(fontsize=6, loc="upper left", ncol=2 if len(seen) > 5 else 1, framealpha=0.8)
    else:
        ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)


def render(prometheus: str, out: Path, *, minutes: float = 10.0) -> Path:
    """Every panel of the dashboard over the last `minutes`, one small chart each."""
    board: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    panels = [p for p in board["panels"] if p.get("targets")]
    now = dt.datetime.now(dt.UTC)
    end = now.timestamp()
    start = end - minutes * 60
    columns = 3
    rows = (len(panels) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(18, 3.6 * rows), squeeze=False)
    for ax, panel in zip(axes.flat, panels, strict=False):
        _draw(ax, panel, prometheus, start, end)
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    until = now.astimezone(ICT)
    figure.suptitle(
        f"{board['title']} — {minutes:.0f} minutes to {until:%d/%m/%Y %H:%M} ICT (from Prometheus)"
    )
    figure.tight_layout(rect=(0, 0, 1, 0.985))
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=80)
    plt.close(figure)
    return out
