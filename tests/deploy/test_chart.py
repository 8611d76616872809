"""The Helm chart: it lints, renders with the default and the production values, and every
object it renders would be accepted by the cluster and does what the deployment guide says."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import DASHBOARD, DEPLOY
from tests.deploy.kube import CHART, HELM, HELM_VERSION, helm, named, problems, render

PRODUCTION = CHART / "values-production.yaml"
VALUE_SETS = {"default": (), "production": (PRODUCTION,)}
CORE = ("registration", "vouchers", "control", "notify")


@pytest.fixture(scope="module", params=sorted(VALUE_SETS))
def rendered(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return render(*VALUE_SETS[request.param])


@pytest.fixture(scope="module")
def production() -> list[dict[str, Any]]:
    return render(PRODUCTION)


def test_the_project_uses_the_helm_it_names() -> None:
    helm("version")
    # A Helm built by `go install` reports only its minor version; its module says the rest.
    built = subprocess.run(["go", "version", "-m", str(HELM)], capture_output=True, text=True)
    assert f"\tmod\thelm.sh/helm/v4\t{HELM_VERSION}\t" in built.stdout, built.stdout[:300]


@pytest.mark.parametrize("value_set", sorted(VALUE_SETS))
def test_the_chart_lints_clean(value_set: str) -> None:
    args = ["lint", "--strict", str(CHART)]
    for path in VALUE_SETS[value_set]:
        args += ["--values", str(path)]
    helm(*args)


def test_every_rendered_object_is_valid_for_the_cluster(rendered: list[dict[str, Any]]) -> None:
    assert rendered
    found = {f"{o['kind']}/{o['metadata']['name']}": problems(o) for o in rendered}
    assert {name: why for name, why in found.items() if why} == {}


def test_an_invalid_object_is_refused() -> None:
    [deployment, *_] = [o for o in render() if o["kind"] == "Deployment"]
    deployment["spec"]["replicas"] = "two"
    assert problems(deployment)
    [scaler] = [o for o in render(PRODUCTION) if o["kind"] == "ScaledObject"][:1]
    scaler["spec"]["triggers"][0]["metadata"]["lagThreshold"] = 1000
    assert problems(scaler), "a trigger's metadata takes strings only"
    scaler["spec"]["maxReplicas"] = 3
    assert any("maxReplicas" in p for p in problems(scaler)), "an unknown field is refused"


def test_each_service_is_probed_sized_and_guarded(rendered: list[dict[str, Any]]) -> None:
    deployments = named(rendered, "Deployment")
    budgets = named(rendered, "PodDisruptionBudget")
    for name in CORE:
        deployment = deployments[f"dvc-{name}"]
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        assert container["command"] == ["python", "-m", f"services.{name}"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        for bound in ("requests", "limits"):
            assert set(container["resources"][bound]) == {"cpu", "memory"}, name
        assert budgets[f"dvc-{name}"]["spec"]["maxUnavailable"] == 1
        selector = budgets[f"dvc-{name}"]["spec"]["selector"]["matchLabels"]
        assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()


def test_migrations_run_as_a_hook_before_install_and_upgrade(
    rendered: list[dict[str, Any]],
) -> None:
    job = named(rendered, "Job")["dvc-migrate"]
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["python", "-m", "stack", "migrate"]
    source = container["env"][0]["valueFrom"]["secretKeyRef"]["name"]
    secrets = named(rendered, "Secret")
    # The Secret it reads exists before it runs: a hook of lower weight, or one already there.
    if source in secrets:
        weight = int(secrets[source]["metadata"]["annotations"]["helm.sh/hook-weight"])
        assert weight < int(job["metadata"]["annotations"]["helm.sh/hook-weight"])
    else:
        assert source == "dvc-secrets"


def test_replicas_share_one_consumer_group(rendered: list[dict[str, Any]]) -> None:
    [config] = [
        c for c in named(rendered, "ConfigMap").values() if "KAFKA_BOOTSTRAP_SERVERS" in c["data"]
    ]
    assert "INSTANCE_SUFFIX" not in config["data"]
    assert config["data"]["REQUIRE_SECRETS"] == "true"
    assert config["data"]["LISTEN_HOST"] == "0.0.0.0"  # noqa: S104 - probes reach the pod


def test_consumers_scale_on_their_group_lag_up_to_the_partition_count(
    production: list[dict[str, Any]],
) -> None:
    partitions = yaml.safe_load(PRODUCTION.read_text())["kafka"]["topicPartitions"]
    scalers = named(production, "ScaledObject")
    assert set(scalers) == {"dvc-vouchers", "dvc-control", "dvc-notify", "dvc-support"}
    deployments = named(production, "Deployment")
    for name, scaler in scalers.items():
        spec = scaler["spec"]
        assert spec["scaleTargetRef"]["name"] == name
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"] <= partitions
        assert "replicas" not in deployments[name]["spec"], "KEDA owns the replica count"
        for trigger in spec["triggers"]:
            assert trigger["type"] == "kafka"
            assert trigger["metadata"]["consumerGroup"] == name.removeprefix("dvc-")
    assert "replicas" in deployments["dvc-registration"]["spec"]


def test_more_replicas_than_partitions_is_refused() -> None:
    args = ["template", "dvc", str(CHART), "--values", str(PRODUCTION)]
    done = helm(*args, "--set", "services.vouchers.autoscaling.maxReplicas=13", check=False)
    assert done.returncode != 0
    assert "above kafka.topicPartitions (12)" in done.stderr
    done = helm(*args, "--set", "services.control.replicas=20", check=False)
    assert "above kafka.topicPartitions" in done.stderr


def test_new_services_are_enabled_by_values() -> None:
    default = named(render(), "Deployment")
    assert not {"dvc-workspace", "dvc-support"} & set(default)
    objects = render(sets=("services.workspace.enabled=true", "autoscaling.enabled=true"))
    workspace = named(objects, "Deployment")["dvc-workspace"]
    [container] = workspace["spec"]["template"]["spec"]["containers"]
    assert container["ports"][0]["containerPort"] == 8005
    assert "dvc-workspace" not in named(objects, "ScaledObject"), "HTTP only: nothing to scale on"
    config = named(objects, "ConfigMap")["dvc-config"]["data"]
    assert (config["WORKSPACE_PORT"], config["SUPPORT_PORT"]) == ("8005", "8006")


def test_monitoring_objects_carry_the_repository_rules_and_dashboard(
    production: list[dict[str, Any]],
) -> None:
    [rule] = named(production, "PrometheusRule").values()
    source = yaml.safe_load((DEPLOY / "prometheus" / "rules" / "pipeline.yml").read_text())
    assert rule["spec"] == source
    [monitor] = named(production, "ServiceMonitor").values()
    relabel = monitor["spec"]["endpoints"][0]["relabelings"][0]
    assert relabel["targetLabel"] == "service"
    [board] = [
        c
        for c in named(production, "ConfigMap").values()
        if "grafana_dashboard" in c["metadata"]["labels"]
    ]
    assert json.loads(board["data"]["pipeline-overview.json"]) == json.loads(DASHBOARD.read_text())
