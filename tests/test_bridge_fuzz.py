"""Fuzz the live bridge from its own OpenAPI document with schemathesis: no 5xx, and every
answer (status, content type, body) matches the schema. The till behind it is real (services,
database, the reference server on loopback); bounded in examples so CI stays fast."""

from __future__ import annotations

from pathlib import Path
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

from tests.support.bridge import running_till

EXAMPLES_PER_OPERATION = 15
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_the_bridge_survives_generated_requests(tmp_path: Path) -> None:
    with running_till(tmp_path) as till:
        url = till.bridge.url
        schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) == 7  # health, cart, state, spend, finish, cancel, refund
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
                case.call_and_validate(base_url=url, checks=CHECKS, timeout=30)
                called.append(case.operation.label)

            run()
    assert len(set(called)) == len(operations)
