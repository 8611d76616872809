"""A picture of the operators' dashboard, drawn from Prometheus query results (PNG)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "pipeline-overview.json"


def _series(
    prometheus: str, expr: str, start: float, end: float, step: float
) -> list[tuple[str, list[float], list[float]]]:
    answer = httpx.get(
        f"{prometheus}/api/v1/query_range",
        timeout=30,
        params={"query": expr, "start": start, "end": end, "step": step},
    )
    answer.raise_for_status()
    found = []
    for result in answer.json()["data"]["result"]:
        labels = result["metric"]
        name = ", ".join(
            f"{v}" for k, v in labels.items() if k not in {"job", "instance", "__name__"}
        )
        times = [float(t) - start for t, _ in result["values"]]
        values = [float(v) for _, v in result["values"]]
        found.append((name or expr[:40], times, values))
    return found


def render(prometheus: str, out: Path, *, minutes: float = 10.0) -> Path:
    """Every panel of the dashboard over the last `minutes`, one small chart each."""
    board: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    panels = [p for p in board["panels"] if p.get("targets")]
    end = dt.datetime.now(dt.UTC).timestamp()
    start = end - minutes * 60
    columns = 3
    rows = (len(panels) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(18, 3.4 * rows), squeeze=False)
    for ax, panel in zip(axes.flat, panels, strict=False):
        for target in panel["targets"]:
            for name, times, values in _series(prometheus, target["expr"], start, end, 5):
                label = target.get("legendFormat") or name
                if "{{" in label:
                    label = name
                ax.plot(times, values, label=label[:40], linewidth=1.2)
        ax.set_title(panel["title"], fontsize=10)
        ax.set_xlabel("seconds", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        handles, _ = ax.get_legend_handles_labels()
        if 0 < len(handles) <= 8:
            ax.legend(fontsize=6, loc="upper left")
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    figure.suptitle(f"{board['title']} — last {minutes:.0f} minutes (from Prometheus)")
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=80)
    plt.close(figure)
    return out
