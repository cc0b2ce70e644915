"""HTTP for /healthz and /readyz.

/healthz is the process check (liveness): it touches nothing, so a database outage never gets a
healthy process restarted. /readyz is the traffic check (readiness): 503 while PostgreSQL or Redis
does not answer within READY_TIMEOUT_S, 200 again as soon as both do.
"""

import asyncio
import logging
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 2.0  # per dependency: a load balancer's probe must not hang on a dead server

router = APIRouter(tags=["health"])

Check = Literal["ok", "unavailable"]


class Readiness(BaseModel):
    status: Literal["ok", "unavailable"]
    database: Check
    redis: Check


async def _database(request: Request) -> Check:
    async with asyncio.timeout(READY_TIMEOUT_S), request.app.state.sessionmaker() as session:
        await session.execute(text("SELECT 1"))
    return "ok"


async def _redis(request: Request) -> Check:
    async with asyncio.timeout(READY_TIMEOUT_S):
        await request.app.state.redis.ping()
    return "ok"


def _probe(name: str, check: Check | BaseException) -> Check:
    if isinstance(check, BaseException):
        log.warning("readiness: %s unavailable: %s", name, type(check).__name__)
        return "unavailable"
    return check


@router.get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "PostgreSQL or Redis is unreachable"}},
)
async def readyz(request: Request) -> JSONResponse:
    """Whether this process can serve traffic: PostgreSQL and Redis both answer. No API key."""
    database, redis = await asyncio.gather(_database(request), _redis(request), return_exceptions=True)
    body = Readiness(
        status="ok",
        database=_probe("database", database),
        redis=_probe("redis", redis),
    )
    if body.database != "ok" or body.redis != "ok":
        body.status = "unavailable"
    return JSONResponse(body.model_dump(), status_code=200 if body.status == "ok" else 503)
