"""The operational routes (/metrics, /healthz, /readyz, /console) sit outside the rate limiter,
carry a request id like any answer, and are behind the body cap like everything else."""

import httpx
import pytest

CAP = 64 * 1024  # the test settings' ORDERATLAS_MAX_BODY_BYTES, as in tests/kit/test_bodycap.py


@pytest.mark.parametrize("path", ["/metrics", "/healthz", "/readyz", "/console"])
async def test_an_operational_route_answers_without_a_key_and_outside_the_rate_limit(
    client: httpx.AsyncClient, path: str
) -> None:
    answers = [await client.get(path, headers={"X-Request-ID": f"ops-{n}"}) for n in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200], answers[-1].text
    assert [a.headers["x-request-id"] for a in answers] == ["ops-0", "ops-1", "ops-2"]
    assert not any(name.lower().startswith("ratelimit") for a in answers for name in a.headers)


async def test_the_body_cap_refuses_an_oversized_body_before_routing(client: httpx.AsyncClient) -> None:
    # /metrics takes no POST (405 once routed): the 413 shows the cap answered first, outermost.
    answer = await client.post("/metrics", content=b" " * (CAP + 1), headers={"X-Request-ID": "big-1"})
    assert answer.status_code == 413
    assert answer.json()["code"] == "body_too_large"
    assert answer.headers["X-Request-ID"] == "big-1"  # only the request id sits outside the cap


def test_an_unknown_method_is_counted_as_other() -> None:
    from orderatlas.observability.middleware import _method

    assert _method("GET") == "GET"
    assert _method("FOOBAR1") == "other"
