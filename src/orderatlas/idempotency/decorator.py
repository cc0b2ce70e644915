"""@idempotent: one line gives a POST route Stripe's Idempotency-Key semantics.

    @router.post("/v1/order")
    @idempotent
    async def place_order(...): ...

The decorator adds the Idempotency-Key header (and the request, session and caller it needs) to the
route's signature, so the route itself does not change.
"""

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from orderatlas.auth.dependencies import Principal, PrincipalDep
from orderatlas.db import SessionDep
from orderatlas.errors import OrderAtlasError, render_error
from orderatlas.idempotency import service

REPLAYED_HEADER = "Idempotent-Replayed"

_KeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Up to 255 characters. A retry with the same key and body within 24 h replays the first "
        "response instead of acting twice.",
    ),
]


def _current_request(request: Request) -> Request:
    return request


# FastAPI hands the Request to one parameter only: the route may already have taken it.
_RequestDep = Annotated[Request, Depends(_current_request)]

_EXTRA = {
    "_idem_key": (_KeyHeader, None),
    "_idem_request": (_RequestDep, inspect.Parameter.empty),
    "_idem_session": (SessionDep, inspect.Parameter.empty),
    "_idem_principal": (PrincipalDep, inspect.Parameter.empty),
}


def idempotent(endpoint: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(endpoint)
    async def wrapper(**kwargs: Any) -> Any:
        key, request = kwargs.pop("_idem_key"), kwargs.pop("_idem_request")
        session, principal = kwargs.pop("_idem_session"), kwargs.pop("_idem_principal")
        if key is None:
            return await endpoint(**kwargs)
        scoped = f"{principal.api_key.mode}:{service.check_key(key)}"  # test and live never share a key
        return await _run_once(endpoint, kwargs, scoped, request, session, principal)

    signature = inspect.signature(endpoint)
    extra = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)
        for name, (annotation, default) in _EXTRA.items()
    ]
    wrapper.__signature__ = signature.replace(parameters=[*signature.parameters.values(), *extra])  # type: ignore[attr-defined]
    return wrapper


async def _run_once(
    endpoint: Callable[..., Awaitable[Any]],
    kwargs: dict[str, Any],
    key: str,
    request: Request,
    session: AsyncSession,
    principal: Principal,
) -> Response:
    account_id = principal.account.id
    print_ = service.fingerprint(
        request.app.state.settings.secret_key, request.method, request.url.path, await request.body()
    )
    replay = await service.begin(session, account_id, key, print_)
    if replay is not None:
        return Response(
            replay.body, replay.status, media_type="application/json", headers={REPLAYED_HEADER: "true"}
        )
    try:
        # A savepoint around the work: an error undoes the work but keeps the key claimed, so a
        # twin waiting on it is still held off while the error is stored in its place.
        async with session.begin_nested():
            result = await endpoint(**kwargs)
    except OrderAtlasError as exc:
        if service.stored(exc.status_code):
            await service.complete(session, account_id, key, exc.status_code, bytes(render_error(exc).body))
            await session.commit()
        raise  # otherwise the rollback that follows frees the key with the rest
    response = JSONResponse(jsonable_encoder(result))
    await service.complete(session, account_id, key, response.status_code, bytes(response.body))
    return response
