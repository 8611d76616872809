"""Prometheus configuration, rules and their unit tests, and the Grafana dashboard's queries."""

from __future__ import annotations

import re
import subprocess
from typing import Any

import httpx
import pytest

from tests.deploy.conftest import CONFIG, DEPLOY, ROOT, prometheus_tool
from tests.deploy.promql import KNOWN_METRICS, metric_names

RULES = sorted((DEPLOY / "prometheus" / "rules").glob("*.yml"))
RULE_TESTS = DEPLOY / "prometheus" / "tests" / "pipeline_test.yml"
DATASOURCE = DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
VIETNAMESE = re.compile(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", re.IGNORECASE)


def promtool(*args: str) -> None:
    done = subprocess.run(
        [prometheus_tool("promtool"), *args], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, f"promtool {' '.join(args)} failed:\n{done.stdout}{done.stderr}"


def queries(dashboard: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_the_prometheus_config_is_valid() -> None:
    promtool("check", "config", str(CONFIG.relative_to(ROOT)))


def test_the_rule_files_are_valid() -> None:
    assert RULES, "no rule file in deploy/prometheus/rules/"
    promtool("check", "rules", *(str(path.relative_to(ROOT)) for path in RULES))


def test_each_alert_fires_when_it_should_and_only_then() -> None:
    promtool("test", "rules", str(RULE_TESTS.relative_to(ROOT)))


def test_each_alert_has_a_firing_and_a_quiet_unit_test(rules: list[dict[str, Any]]) -> None:
    text = RULE_TESTS.read_text(encoding="utf-8")
    firing = set(re.findall(r"alertname: (\w+)\n\s+exp_alerts:\n", text))
    quiet = set(re.findall(r"alertname: (\w+)\n\s+exp_alerts: \[\]", text))
    alerts = {rule["name"] for rule in rules if rule["type"] == "alerting"}
    assert alerts, "prometheus loaded no alert from rules/*.yml relative to its config"
    assert alerts - firing == set(), "alerts never shown firing"
    assert alerts - quiet == set(), "alerts never shown staying quiet"


def test_every_alert_has_a_severity_and_bilingual_annotations(
    rules: list[dict[str, Any]],
) -> None:
    for rule in (r for r in rules if r["type"] == "alerting"):
        assert rule["labels"].get("severity") in {"critical", "warning"}, rule["name"]
        for key in ("summary", "description"):
            lines = rule["annotations"].get(key, "").splitlines()
            english = [line for line in lines if not VIETNAMESE.search(line)]
            assert english, f"{rule['name']}: {key} has no English line"
            assert len(english) < len(lines), f"{rule['name']}: {key} has no Vietnamese line"


def test_rules_use_only_metrics_the_services_expose(rules: list[dict[str, Any]]) -> None:
    recorded = {rule["name"] for rule in rules if rule["type"] == "recording"}
    for rule in rules:
        names = metric_names(rule["query"])
        assert names, f"{rule['name']} selects no metric: {rule['query']}"
        unknown = names - KNOWN_METRICS - recorded
        assert not unknown, f"{rule['name']} uses unknown metrics {unknown}: {rule['query']}"


def test_dashboard_panels_query_the_provisioned_prometheus(dashboard: dict[str, Any]) -> None:
    assert dashboard["title"] == "DVC pipeline overview"
    assert re.search(r"^\s+uid: prometheus$", DATASOURCE.read_text(), re.MULTILINE)
    assert dashboard["panels"]
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == "prometheus", panel["title"]
        assert panel["targets"], f"{panel['title']} has no query"
        for target in panel["targets"]:
            assert target.get("datasource", {"uid": "prometheus"})["uid"] == "prometheus"
            assert target["expr"].strip(), f"{panel['title']} has an empty query"


def test_dashboard_queries_use_only_metrics_the_services_expose(
    dashboard: dict[str, Any],
) -> None:
    for expr in queries(dashboard):
        names = metric_names(expr)
        assert names, f"selects no metric: {expr}"
        assert names <= KNOWN_METRICS, f"unknown metrics {names - KNOWN_METRICS}: {expr}"


def test_dashboard_queries_are_valid_promql(
    dashboard: dict[str, Any], prometheus: httpx.Client
) -> None:
    for expr in queries(dashboard):
        answer = prometheus.get("/api/v1/query", params={"query": expr}).json()
        assert answer["status"] == "success", f"{answer.get('error')}: {expr}"


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ('sum by (outcome) (rate(x_total{outcome="a b"}[5m])) or vector(0)', {"x_total"}),
        ('label_replace(max(y), "service", "v", "__name__", ".*") > 1e3', {"y"}),
        ("a:b:rate5m / on (service) group_left c offset 10m > bool d", {"a:b:rate5m", "c", "d"}),
        ("histogram_quantile(0.99, sum by (le) (rate(h_bucket[5m:1m])))", {"h_bucket"}),
    ],
)
def test_metric_names_ignore_functions_labels_strings_and_numbers(
    expr: str, names: set[str]
) -> None:
    assert metric_names(expr) == names


def test_every_alert_links_to_its_section_of_the_runbook(rules: list[dict[str, Any]]) -> None:
    runbook = ROOT / "docs" / "operations.md"
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in runbook.read_text().splitlines()
        if line.startswith("#")
    }
    for rule in (r for r in rules if r["type"] == "alerting"):
        url = rule["annotations"].get("runbook_url", "")
        path, _, anchor = url.partition("#")
        assert path == "docs/operations.md", f"{rule['name']}: runbook_url {url!r}"
        assert anchor in anchors, f"{rule['name']}: no section #{anchor} in {runbook}"
