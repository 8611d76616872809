"""Hostile HTTP: every service's API, generated from its OpenAPI document, with real credentials.

Property-based requests (schemathesis, on hypothesis) against the running services of the
access matrix: no answer is a 5xx, and every answer matches the schema the document declares
for its status. Bodies above the documented limit are refused with 413 before being read.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import response_schema_conformance

from shared.settings import BaseServiceSettings
from tests.access.conftest import OFFICE, SERVICES, Office0011
from tests.support import API_KEY, staff_token

EXAMPLES = 25


@pytest.mark.parametrize("service", SERVICES)
def test_no_request_makes_a_service_fail_or_answer_off_its_schema(
    office_0011: Office0011, service: str
) -> None:
    url = office_0011.pipeline.services[service].url
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    headers = {
        "X-API-Key": API_KEY,
        "Authorization": f"Bearer {staff_token(OFFICE, 'head')}",
    }
    failures = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"{service}: an operation does not load: {result}"
        operation = result.ok()

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            # The same requests on every run: a failure in CI can be replayed as it was.
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def request(case: Any) -> None:
            case.call_and_validate(
                headers=headers, checks=[not_a_server_error, response_schema_conformance]
            )

        try:
            request()
        except Exception as failure:
            failures.append(f"{operation.label}: {failure}")
    assert not failures, f"{service}: " + "\n\n".join(failures)


@pytest.mark.parametrize("service", SERVICES)
async def test_a_body_above_the_limit_is_refused_with_413(
    office_0011: Office0011, service: str
) -> None:
    limit = BaseServiceSettings().http_max_body_bytes
    process = office_0011.pipeline.services[service]
    async with httpx.AsyncClient(base_url=process.url, timeout=30) as http:
        document = (await http.get("/openapi.json")).json()
        posts = [
            path
            for path, item in document["paths"].items()
            if "requestBody" in item.get("post", {})
        ]
        answers = {}
        for path in posts:
            url = path.replace("{dossier_id}", office_0011.keys(service)["dossier_id"])
            answer = await http.post(
                url,
                content=b'{"x": "' + b"a" * limit + b'"}',
                headers={"Content-Type": "application/json", "X-API-Key": API_KEY},
            )
            answers[path] = answer.status_code
    assert all(code == 413 for code in answers.values()), answers
