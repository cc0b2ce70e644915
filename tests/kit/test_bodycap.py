"""Request bodies are capped before anything parses them, and every request field is bounded."""

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

from orderatlas.app import create_app
from orderatlas.config import Settings

CAP = 64 * 1024


async def test_a_body_whose_content_length_is_over_the_cap_is_refused_unread(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.post(
        "/v1/order", content=b"{" + b" " * CAP + b"}", headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 413
    assert answer.json() == {"error": f"request body is larger than {CAP} bytes", "code": "body_too_large"}


async def test_a_streamed_body_is_refused_once_its_bytes_pass_the_cap(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked, counted as it arrives
        for _ in range(64):
            yield b" " * 4096

    answer = await client.post("/v1/order", content=chunks(), headers={"Content-Type": "application/json"})
    assert answer.status_code == 413
    assert answer.json()["code"] == "body_too_large"


async def test_a_content_length_that_lies_is_caught_by_counting(settings: Settings) -> None:
    app = create_app(settings)
    replies: list[dict[str, Any]] = []
    chunks: Iterator[bytes] = iter([b" " * 40_000, b" " * 40_000, b"}"])

    async def receive() -> dict[str, Any]:
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        replies.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/order",
        "raw_path": b"/v1/order",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-length", b"100"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1),
        "server": ("orderatlas.test", 80),
    }
    async with app.router.lifespan_context(app):
        await app(scope, receive, send)
    starts = [m for m in replies if m["type"] == "http.response.start"]
    assert [m["status"] for m in starts] == [413]  # one answer, and the app's own was dropped


async def test_a_body_under_the_cap_reaches_the_api(client: httpx.AsyncClient) -> None:
    answer = await client.post("/v1/order", content=b"{" + b" " * (CAP - 2) + b"}")
    assert answer.status_code == 401  # read, and then refused for the missing key, not for its size


async def test_the_cap_is_a_setting(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"max_body_bytes": 2048}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://orderatlas.test") as http:
            answer = await http.put("/v1/settings", content=b"x" * 2049)
    assert answer.status_code == 413


def _unbounded(
    node: dict[str, Any], where: str, schemas: dict[str, Any], seen: frozenset[str]
) -> Iterator[str]:
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name not in seen:
            yield from _unbounded(schemas[name], name, schemas, seen | {name})
        return
    for key in ("anyOf", "oneOf", "allOf"):
        for alternative in node.get(key, []):
            yield from _unbounded(alternative, where, schemas, seen)
    kind = node.get("type")
    if kind == "string" and "maxLength" not in node and "enum" not in node and "const" not in node:
        yield where
    elif kind == "array":
        if "maxItems" not in node:
            yield where + "[]"
        yield from _unbounded(node.get("items", {}), where + "[]", schemas, seen)
    elif kind == "object":
        for name, field in node.get("properties", {}).items():
            yield from _unbounded(field, f"{where}.{name}", schemas, seen)
        if isinstance(node.get("additionalProperties"), dict):
            yield from _unbounded(node["additionalProperties"], where + ".*", schemas, seen)


def test_every_request_string_and_list_has_a_maximum(settings: Settings) -> None:
    schema = create_app(settings).openapi()
    schemas = schema["components"]["schemas"]
    unbounded = [
        f"{method.upper()} {path}: {where}"
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        for content in operation.get("requestBody", {}).get("content", {}).values()
        for where in _unbounded(content["schema"], "body", schemas, frozenset())
    ]
    assert unbounded == []
