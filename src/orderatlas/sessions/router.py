"""HTTP for /v1/sessions."""

from fastapi import APIRouter, Request

from orderatlas.auth.dependencies import PrincipalDep
from orderatlas.errors import error_responses
from orderatlas.retailers.base import LOGGED_IN
from orderatlas.sessions import service
from orderatlas.sessions.schemas import SessionValidate, SessionValidity

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])


@router.post("/validate", response_model=SessionValidity, responses=error_responses(503))
async def validate_session(
    body: SessionValidate, request: Request, principal: PrincipalDep
) -> SessionValidity:
    """Whether a browser session's cookies are still logged in at the retailer. The cookie string
    is used for this request only: never stored or logged."""
    state = request.app.state
    check = await service.validate(principal, body, state.retailers, state.settings)
    return SessionValidity(
        valid=check.status == LOGGED_IN,
        status=check.status,  # type: ignore[arg-type]
        cookie_string=body.cookie_string,
        message=check.message,
    )
