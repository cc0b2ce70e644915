"""Schemathesis over every route of a real `orderatlas serve`: no 5xx, and every 4xx is {"error", "code"}.

Fixed seed and bounded examples, so CI sends the same requests every run.
"""

import json

import httpx
import pytest
import schemathesis
from schemathesis import Case, CheckContext, GenerationMode, Response
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.schemas import OpenApiSchema

from tests.conftest import LiveService

# One `orderatlas serve` for the module and test_concurrency.py: under xdist they run on one worker.
pytestmark = pytest.mark.xdist_group("live_service")

SEED = 20261122
MAX_EXAMPLES = 40


@pytest.fixture
def api_schema(live_service: LiveService) -> OpenApiSchema:
    key = live_service.new_key(test_credits=100_000)
    probe = httpx.get(f"{live_service.base_url}/v1/order/{'0' * 8}", headers={"X-API-Key": key})
    assert probe.status_code == 404, probe.text  # the key works: the fuzzing is not 401s all the way down
    schema = schemathesis.openapi.from_url(
        f"{live_service.base_url}/openapi.json", config=schemathesis.Config(seed=SEED), timeout=10
    )
    schema.config.update(base_url=live_service.base_url, headers={"X-API-Key": key}, request_timeout=30)
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=MAX_EXAMPLES, database="none"
    )
    schema.config.phases.update(phases=["examples", "coverage", "fuzzing"])
    return schema


def error_body_shape(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    if not 400 <= response.status_code < 500:
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"{response.status_code} body is not JSON: {response.content[:200]!r}") from None
    # A 402 also says what is left (the reference's credits_remaining); every other error is the pair.
    shape = {"error", "code", "credits_remaining"} if response.status_code == 402 else {"error", "code"}
    if not (isinstance(body, dict) and set(body) == shape):
        raise AssertionError(f"{response.status_code} body must be exactly {sorted(shape)}, got {body!r}")
    if not (isinstance(body["error"], str) and isinstance(body["code"], str)):
        raise AssertionError(f"{response.status_code} error and code must be strings, got {body!r}")
    return None


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_no_route_answers_5xx_and_every_4xx_has_the_error_shape(case: Case) -> None:
    case.call_and_validate(checks=[not_a_server_error, error_body_shape])


def test_every_route_that_takes_a_body_refuses_one_over_the_cap_with_413(live_service: LiveService) -> None:
    """Over real HTTP (uvicorn): declared too large, and chunked past the cap, on every body route."""
    key = live_service.new_key(test_credits=100)
    spec = httpx.get(f"{live_service.base_url}/openapi.json").json()
    routes = [
        (method.upper(), path.replace("{", "").replace("}", ""))
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    ]
    assert len(routes) >= 10
    oversized = b'{"a": "' + b"x" * (64 * 1024) + b'"}'
    with httpx.Client(base_url=live_service.base_url, headers={"X-API-Key": key}, timeout=30) as http:
        for method, path in routes:
            for content in (oversized, iter([oversized[:40_000], oversized[40_000:]])):
                answer = http.request(
                    method, path, content=content, headers={"Content-Type": "application/json"}
                )
                assert answer.status_code == 413, (method, path, answer.text)
                assert answer.json()["code"] == "body_too_large"
