"""The chart rendered by the project's Helm, and every rendered object checked against the
schema the cluster would check it against, offline.

Core objects: the Kubernetes OpenAPI schemas that `kubernetes-validate` carries, strictly (an
unknown field is an error, as with `kubectl apply --validate=strict`). Custom objects (KEDA's
ScaledObject, the Prometheus operator's ServiceMonitor and PrometheusRule): the openAPIV3Schema
of their CRDs, vendored in `crds/`, with unknown fields refused the same way.
"""

from __future__ import annotations

import copy
import functools
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.conftest import ROOT

CHART = ROOT / "deploy" / "helm" / "dvc"
# The Helm `make tools` builds: the Makefile names the version.
HELM_VERSION = re.findall(r"^HELM_VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.M)[0]
HELM = ROOT / ".tools" / "bin" / "helm"
# The Kubernetes release the objects are validated against.
KUBERNETES_VERSION = "1.37"
CRDS = Path(__file__).parent / "crds"


def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the project's Helm; a test without it fails, it is not skipped."""
    if not HELM.exists():
        pytest.fail(
            f"{HELM.relative_to(ROOT)} not found: `make tools` installs Helm {HELM_VERSION}",
            pytrace=False,
        )
    done = subprocess.run([str(HELM), *args], cwd=ROOT, capture_output=True, text=True)
    if check and done.returncode != 0:
        pytest.fail(f"helm {' '.join(args)} failed:\n{done.stdout}{done.stderr}", pytrace=False)
    return done


def render(*values: Path | str, sets: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """`helm template` of the chart with these values files and --set pairs, as objects."""
    args = ["template", "dvc", str(CHART), "--namespace", "dvc"]
    for each in values:
        args += ["--values", str(each)]
    for pair in sets:
        args += ["--set", pair]
    text = helm(*args).stdout
    return [doc for doc in yaml.load_all(text, Loader=_UniqueKeys) if doc]


class _UniqueKeys(yaml.SafeLoader):
    """YAML as the API server decodes it: a key given twice in one mapping is an error."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        keys = [self.construct_object(key, deep=deep) for key, _ in node.value]
        twice = {k for k in keys if keys.count(k) > 1}
        if twice:
            raise yaml.constructor.ConstructorError(
                None, None, f"keys given twice: {sorted(twice)}", node.start_mark
            )
        return super().construct_mapping(node, deep=deep)


def named(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def problems(obj: dict[str, Any]) -> list[str]:
    """Why the cluster would refuse `obj` (empty when it would accept it)."""
    key = (obj.get("apiVersion", ""), obj.get("kind", ""))
    schema = crd_schemas().get(key)
    if schema is not None:
        validator = jsonschema.Draft7Validator(schema)
        return [
            f"{'.'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
            for error in validator.iter_errors(obj)
        ]
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        path = ".".join(str(p) for p in error.path) or "<root>"
        return [f"{path}: {error.message}"]
    except kubernetes_validate.SchemaNotFoundError as error:
        return [f"no schema for {key}: {error}"]
    return []


@functools.cache
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> the strict JSON schema of each served version of each CRD."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(CRDS.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text(encoding="utf-8"))
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if version.get("served"):
                schema = _strict(copy.deepcopy(version["schema"]["openAPIV3Schema"]))
                found[(f"{group}/{version['name']}", kind)] = schema
    return found


def _strict(schema: dict[str, Any]) -> dict[str, Any]:
    """Unknown fields refused where the CRD does not preserve them, as the API server's
    strict field validation does; `nullable` fields accept null."""
    if (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        schema["additionalProperties"] = False
    if schema.get("nullable") and "type" in schema:
        schema["type"] = [schema["type"], "null"]
    for key in ("properties", "patternProperties"):
        for sub in schema.get(key, {}).values():
            _strict(sub)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            _strict(schema[key])
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key, []):
            _strict(sub)
    return schema
