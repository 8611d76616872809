"""docker-compose.yml, read as Compose would read it (no Docker engine runs here): one image
from the one Dockerfile, files that exist, ports and listeners that agree, secrets from .env."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.conftest import ROOT

COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
SECRETS = ("STAFF_JWT_SECRET", "PORTAL_API_KEYS", "POSTGRES_PASSWORD", "GRAFANA_ADMIN_PASSWORD")
OURS = ("registration", "vouchers", "control", "notify", "support")
VARIABLE = re.compile(r"\$\{(\w+)(?::([?-])([^}]*))?\}")


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?error}` (an empty value is unset)."""

    def one(match: re.Match[str]) -> str:
        name, how, arg = match.group(1), match.group(2), match.group(3)
        value = env.get(name, "")
        if value:
            return value
        if how == "?":
            raise ValueError(f"{name}: {arg}")
        return arg if how == "-" else ""

    return VARIABLE.sub(one, text)


def example_env() -> dict[str, str]:
    """.env.example with a value given to every secret, as a user's .env would be."""
    env = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            env[name] = value or f"value-of-{name.lower()}"
    return env


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(interpolate(COMPOSE.read_text(), example_env()))
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = compose["services"]
    return found


def env_of(service: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in (service.get("environment") or {}).items()}


def published(service: dict[str, Any]) -> dict[int, int]:
    """Container port -> host port."""
    pairs = (str(p).split(":")[-2:] for p in service.get("ports", []))
    return {int(inside): int(host) for host, inside in pairs}


def test_every_secret_comes_from_env_and_an_empty_one_stops_compose() -> None:
    text = COMPOSE.read_text()
    example = example_env()
    for name in SECRETS:
        assert f"${{{name}:?" in text, f"{name} is not required from .env"
        assert name in example, f"{name} is missing from .env.example"
        assert re.search(rf"^{name}=$", ENV_EXAMPLE.read_text(), re.MULTILINE), "a real value"
        with pytest.raises(ValueError, match=f"{name} is empty - set it in .env"):
            interpolate(text, {**example, name: ""})
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()


def test_the_services_also_refuse_an_empty_secret_themselves() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "REQUIRE_SECRETS=true" in dockerfile
    assert "LISTEN_HOST=0.0.0.0" in dockerfile


def test_every_image_of_ours_builds_from_the_one_dockerfile(services: dict[str, Any]) -> None:
    built = {name: s for name, s in services.items() if "build" in s}
    assert set(built) == {*OURS, "init"}
    assert {s["build"] for s in built.values()} == {"."}
    assert len({s["image"] for s in built.values()}) == 1
    assert (ROOT / "Dockerfile").is_file()
    for name in OURS:
        assert services[name]["command"] == ["python", "-m", f"services.{name}"]
    for path in re.findall(r"^COPY (\S+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE):
        assert (ROOT / path).exists(), f"the Dockerfile copies {path}, which does not exist"


def test_every_mounted_file_exists_and_every_volume_is_declared(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    for name, service in services.items():
        assert service.get("network_mode") is None, f"{name} leaves the compose network"
        for volume in service.get("volumes", []):
            source, target = str(volume).split(":")[:2]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name} mounts {source}, which does not exist"
                assert Path(target) != Path("/app"), f"{name} mounts the working tree"
            else:
                assert source in compose["volumes"], f"{name}: volume {source} is not declared"
    prometheus = services["prometheus"]["command"][0].removeprefix("--config.file=")
    assert (ROOT / "deploy" / "prometheus" / Path(prometheus).name).is_file()


def test_init_prepares_from_the_image_without_touching_the_checkout(
    services: dict[str, Any],
) -> None:
    init = services["init"]
    assert init["command"][:4] == ["python", "-m", "stack", "prepare"]
    assert "pip" not in " ".join(init["command"])
    assert "user" not in init, "the image's own (non-root) user"
    config_dir = init["command"][init["command"].index("--demo-config") + 1]
    assert f"config:{config_dir}" in init["volumes"]
    for name in OURS:
        env = env_of(services[name])
        for key in ("TRUSTED_CA_FILE", "TREASURY_DIRECTORY"):
            assert Path(env[key]).parent == Path(config_dir), f"{name}: {key}"
        assert f"config:{config_dir}:ro" in services[name]["volumes"]
        assert services[name]["depends_on"]["init"]["condition"] == (
            "service_completed_successfully"
        )
    assert f"install -d -o dvc -g dvc {config_dir}" in (ROOT / "Dockerfile").read_text()


def test_kafka_listeners_serve_the_host_and_the_compose_network(
    services: dict[str, Any],
) -> None:
    env = env_of(services["kafka"])
    protocols = dict(p.split(":") for p in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    listeners = {n: int(a.rsplit(":", 1)[1]) for n, a in _listeners(env["KAFKA_LISTENERS"])}
    advertised = dict(_listeners(env["KAFKA_ADVERTISED_LISTENERS"]))
    assert set(listeners) <= set(protocols)
    assert env["KAFKA_INTER_BROKER_LISTENER_NAME"] in advertised
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] in listeners
    by_host = {a.rsplit(":", 1)[0]: (n, int(a.rsplit(":", 1)[1])) for n, a in advertised.items()}
    inside_name, inside_port = by_host["kafka"]
    outside_name, outside_port = by_host["localhost"]
    assert listeners[inside_name] == inside_port
    assert published(services["kafka"])[listeners[outside_name]] == outside_port
    for name in (*OURS, "init"):
        assert env_of(services[name])["KAFKA_BOOTSTRAP_SERVERS"] == f"kafka:{inside_port}"


def _listeners(spec: str) -> list[tuple[str, str]]:
    return [tuple(each.split("://")) for each in spec.split(",")]  # type: ignore[misc]


def test_ports_agree_between_services_probes_and_prometheus(services: dict[str, Any]) -> None:
    scrape = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus-compose.yml").read_text())
    targets = {
        c["labels"]["service"]: c["targets"][0]
        for job in scrape["scrape_configs"]
        for c in job["static_configs"]
        if "labels" in c
    }
    for name in OURS:
        service = services[name]
        port = int(env_of(service)[f"{name.upper()}_PORT"])
        assert published(service) == {port: port}
        assert f"127.0.0.1:{port}/readyz" in " ".join(service["healthcheck"]["test"])
        assert targets[name] == f"{name}:{port}"
    grafana = urlsplit(env_of(services["grafana"])["PROMETHEUS_URL"])
    assert grafana.hostname == "prometheus"
    assert grafana.port in published(services["prometheus"])
    assert (
        "${PROMETHEUS_URL}"
        in (
            ROOT / "deploy" / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
        ).read_text()
    )


def test_the_database_password_is_the_one_postgres_is_given(services: dict[str, Any]) -> None:
    password = env_of(services["postgres"])["POSTGRES_PASSWORD"]
    assert "POSTGRES_HOST_AUTH_METHOD" not in env_of(services["postgres"])
    for name in (*OURS, "init"):
        url = urlsplit(env_of(services[name])["DATABASE_URL"])
        assert (url.hostname, url.port, url.password) == ("postgres", 5432, password)


def test_every_long_running_service_has_a_healthcheck(services: dict[str, Any]) -> None:
    for name, service in services.items():
        if name != "init":
            assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        for dependency, how in (service.get("depends_on") or {}).items():
            assert dependency in services
            if how["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], f"{name} waits on {dependency}"
