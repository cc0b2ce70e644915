"""The console's files as the app serves them: the page, its modules, its headers."""

import httpx

from orderatlas.orders.statuses import ALL_STATUSES


async def test_the_page_is_served_with_the_status_lists_and_a_strict_policy(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/console")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'self' covers it
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "__STATUSES__" not in page.text
    assert all(f"&quot;{status}&quot;" in page.text for status in ALL_STATUSES)
    slash = await client.get("/console/")
    assert slash.status_code == 308 and slash.headers["location"] == "/console"


async def test_every_module_the_page_imports_is_served_as_javascript(client: httpx.AsyncClient) -> None:
    for path in ("js/app.js", "js/api.js", "js/ui.js", "js/nav.js", "js/pages/order.js", "console.css"):
        response = await client.get(f"/console/static/{path}")
        assert response.status_code == 200, path
    assert "javascript" in (await client.get("/console/static/js/app.js")).headers["content-type"]
    assert (await client.get("/console/static/../router.py")).status_code == 404
