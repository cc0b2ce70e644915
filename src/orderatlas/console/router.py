"""Serves the console: /console is its one page, /console/static its modules and styles.

Nothing here reads the database or knows an API key: the page signs in by keeping the key in the
tab's sessionStorage and calls the JSON API like any client. The status lists it filters and
enables buttons by come from orders/statuses.py, written into the page, so they cannot drift.
"""

import json
from functools import cache
from importlib.resources import files

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from orderatlas.orders import statuses as st

STATIC = files("orderatlas.console") / "static"
# Only our own files run, and no page may frame the console (the key is in reach of its scripts).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

router = APIRouter(include_in_schema=False)


@cache
def _page() -> str:
    statuses = {
        "all": list(st.ALL_STATUSES),
        "placed": sorted(st.PLACED_STATUSES),
        "shipping": sorted(st.SHIPPING_STATUSES),
    }
    html = (STATIC / "index.html").read_text()
    return html.replace("__STATUSES__", json.dumps(statuses).replace('"', "&quot;"))


@router.get("/console", response_class=HTMLResponse)
async def console() -> HTMLResponse:
    return HTMLResponse(_page(), headers=SECURITY_HEADERS)


@router.get("/console/")
async def console_slash() -> RedirectResponse:
    return RedirectResponse("/console", status_code=308)


def mount(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=str(STATIC)), name="console-static")
