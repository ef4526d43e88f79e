"""Fuzz the live API from its own OpenAPI document with schemathesis: no 5xx, and every answer
(status, content type, body) matches the schema. Bounded in examples so CI stays fast."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from processing.server.testing import RunningServer

pytest_plugins = ["tests.conftest_processing"]

EXAMPLES_PER_OPERATION = 12
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_api_survives_generated_requests(server: RunningServer) -> None:
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 14  # every operation of the protocol is in the document
    headers = {"Authorization": f"Bearer {server.api_key}"}
    called: list[str] = []
    for operation in operations:

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(), data=st.data())
        def run(case: Any, data: Any) -> None:
            case.call_and_validate(base_url=server.url, headers=headers, checks=CHECKS, timeout=10)
            called.append(case.operation.label)

        run()
    assert len(set(called)) == len(operations)
