"""Fuzz the live API from its own OpenAPI document with schemathesis, every check on: no 5xx;
status, content type, headers and body as the schema says; schema-valid requests accepted
(``schemathesis_checks.schema_valid_request_accepted``: schemathesis' own check, allowing only
refusals by rules JSON Schema cannot state) and invalid ones refused; undeclared methods answered
405 with an ``Allow`` header; missing headers and auth refused. Bounded in examples per
operation so CI stays fast; derandomized, so a failure reproduces.

The operator API (``/v1/operator/``) is left out: it takes an operator's key, not the till's
this run sends, and its operations change the chain under the run (revoke and rotate the
fuzzing till's own key, load programs, import members); tests/test_ops_api.py covers it and
its refusal of a till's key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from processing.server.testing import RunningServer

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES_PER_OPERATION = 12
OPERATOR = "/v1/operator/"


def test_api_survives_generated_requests_with_every_check(
    server: RunningServer, tmp_path: Path
) -> None:
    schema = httpx.get(f"{server.url}/openapi.json").json()
    operations = sum(
        len(methods) for path, methods in schema["paths"].items() if not path.startswith(OPERATOR)
    )
    assert operations >= 14  # every operation of the protocol is in the document
    mark = tmp_path / "accepted-check.log"
    run = subprocess.run(
        [
            *(sys.executable, "-m", "schemathesis.cli", "run", f"{server.url}/openapi.json"),
            *("--checks", "all", "--exclude-checks", "positive_data_acceptance"),
            *("--exclude-path-regex", f"^{OPERATOR}"),
            *("--header", f"Authorization: Bearer {server.api_key}"),
            *("--max-examples", str(EXAMPLES_PER_OPERATION), "--generation-deterministic"),
            *("--request-timeout", "10", "--no-color", "--suppress-health-check", "all"),
        ],
        cwd=tmp_path,  # its own report directory and cassettes stay out of the repository
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "SCHEMATHESIS_HOOKS": "tests.schemathesis_checks",
            "TILL_FUZZ_MARK": str(mark),
        },
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:]
    # Every operation was called, and the acceptance check ran on every one of them.
    assert f"Tested: {operations}" in run.stdout, run.stdout[-3000:]
    assert len(set(mark.read_text().splitlines())) == operations
