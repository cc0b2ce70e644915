"""HTTP for /copies: kept invoice and order-page copies, at signed links that need no API key."""

from fastapi import APIRouter, Request, Response

from orderatlas.db import SessionDep
from orderatlas.errors import ErrorBody
from orderatlas.models.base import utcnow
from orderatlas.storage import service

router = APIRouter(prefix="/copies", tags=["copies"])

# The HTML is the retailer's, not ours: it must not run scripts or load anything in our origin.
_HEADERS = {
    "Content-Security-Policy": "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "Cache-Control": "private, max-age=300",
}


@router.get(
    "/{kind}/{file}",
    response_class=Response,
    responses={
        200: {"content": {"text/html": {"schema": {"type": "string"}}}, "description": "The copy"},
        404: {"model": ErrorBody, "description": "Unknown, altered or expired link"},
    },
    summary="A kept invoice or order-page copy (the links in invoice_link and order_html_url)",
)
async def get_copy(kind: str, file: str, request: Request, session: SessionDep) -> Response:
    state = request.app.state
    copy = await service.read(session, state.copies, state.settings.secret_key, kind, file, utcnow())
    return Response(copy.content, media_type=copy.content_type, headers=_HEADERS)
