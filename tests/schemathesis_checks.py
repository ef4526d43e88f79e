"""A schemathesis check for the API fuzz test (loaded with ``SCHEMATHESIS_HOOKS``).

``schema_valid_request_accepted`` is schemathesis' own ``positive_data_acceptance`` with one
refinement: a schema-valid request may still be refused by a rule about *meaning* that JSON
Schema cannot state — that a phone number exists in a numbering plan, that a claim code's
check digit is right, that an identifier is a phone, QR token or card — with a 422 whose body
names that rule (no ``details.errors``). A 422 from request validation (``details.errors``,
what FastAPI answers when a pydantic constraint fails) is a constraint missing from the schema
and fails exactly as in schemathesis.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from schemathesis.specs.openapi.checks import RejectedPositiveData, positive_data_acceptance


@schemathesis.check
def schema_valid_request_accepted(ctx: Any, response: Any, case: Any) -> bool | None:
    mark = os.environ.get("TILL_FUZZ_MARK")
    if mark:  # the test's proof that this check ran, and on which operations
        with open(mark, "a") as out:
            out.write(case.operation.label + "\n")
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if response.status_code == 422 and _rule_refusal(response):
            return None
        raise


def _rule_refusal(response: Any) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    details = body.get("details") if isinstance(body, dict) else None
    return isinstance(details, dict) and "errors" not in details
