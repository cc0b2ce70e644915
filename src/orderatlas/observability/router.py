"""GET /metrics: Prometheus' text format, for a scraper on the operators' network."""

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from orderatlas.observability.metrics import render

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    return Response(await render(request.app.state.redis), media_type=CONTENT_TYPE_LATEST)
