"""Schemathesis against the real order-service process: bad input is a 4xx problem, never a 5xx.

Each public /api operation gets a small, derandomized budget of schema-valid and schema-breaking
requests, sent with a real buyer's bearer token and again without one. Every answer must be
below 500; every 4xx must be application/problem+json with a `code`; every 2xx must match the
documented response schema. Run alone with `pytest -m fuzz`.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.e2e.conftest import start_stack

pytestmark = [pytest.mark.fuzz, pytest.mark.e2e]

EXAMPLES_PER_OPERATION = 25
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
async def stack(pg_databases, tmp_path_factory):
    running = await start_stack(pg_databases, tmp_path_factory)
    yield running
    await running.close()


@pytest.fixture(scope="module")
async def bearer(stack) -> dict[str, str]:
    buyer = await stack.new_buyer()
    return buyer.headers


def _problems(case, response, headers) -> list[str]:
    status, where = response.status_code, f"{case.method} {case.formatted_path}"
    if status >= 500:
        return [f"{where} -> {status}: {response.text[:300]}\n  {case.as_curl_command(headers)}"]
    if 400 <= status < 500:
        content_type = ", ".join(
            v for k, vs in response.headers.items() if k.lower() == "content-type" for v in vs
        )
        body = response.json() if content_type.startswith(PROBLEM) else None
        if not (isinstance(body, dict) and isinstance(body.get("code"), str) and body["code"]):
            return [
                f"{where} -> {status} {content_type!r} without a problem code: "
                f"{response.text[:300]}\n  {case.as_curl_command(headers)}"
            ]
    if 200 <= status < 300:
        try:
            case.validate_response(response, checks=[response_schema_conformance])
        except AssertionError as failure:
            return [f"{where} -> {status} does not match its schema: {failure}"]
    return []


def test_order_api_answers_bad_input_with_problems_not_server_errors(stack, bearer):
    schema = schemathesis.openapi.from_url(f"{stack.order.url}/openapi.json").include(
        path_regex="^/api/"
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 14, [op.label for op in operations]
    found: list[str] = []
    answered: set[tuple[str, int]] = set()

    for operation in operations:
        cases = st.one_of(
            operation.as_strategy(generation_mode=schemathesis.GenerationMode.POSITIVE),
            operation.as_strategy(generation_mode=schemathesis.GenerationMode.NEGATIVE),
        )

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=cases, authenticated=st.booleans())
        def send(case, authenticated):
            headers = bearer if authenticated else {}
            response = case.call(headers=headers, timeout=15)
            answered.add((case.operation.label, response.status_code))
            found.extend(_problems(case, response, headers))

        send()

    assert not found, "\n".join(found) + "\n" + stack.logs()
    # The budget reached past the front door: real successes, auth refusals and validation.
    statuses = {status for _, status in answered}
    assert {200, 201, 401, 422} <= statuses, sorted(answered)
