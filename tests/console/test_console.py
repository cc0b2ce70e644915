"""The console in real headless Chromium, driven as an operator would, against a real serve.

Each scenario signs in, works through several pages and saves a screenshot of each into
test-output/console/ (kept between runs, ignored by git); every page is checked by axe-core.
"""

import asyncio
import re

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.console.browser import HOW_TO_INSTALL, require_chromium, watched_page
from tests.console.conftest import ConsoleService
from tests.factories import legacy_order
from tests.process import poll
from tests.receiver import running_receiver

# One worker starts the browser and the console's serve for both scenarios (docs/testing.md).
pytestmark = pytest.mark.xdist_group("console")


async def sign_in(page: Page, key: str) -> None:
    await page.goto("/console")
    await page.get_by_label("API key").fill(key)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()


async def place(service: ConsoleService, key: str, **body: object) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=service.base_url) as api:
        response = await api.post("/v1/order", json=legacy_order(**body), headers={"X-API-Key": key})
    assert response.status_code == 200, response.text
    return dict(response.json())


async def read(service: ConsoleService, key: str, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=service.base_url) as api:
        return await api.get(path, headers={"X-API-Key": key})


async def confirmed(service: ConsoleService, key: str, order_id: str) -> None:
    """Wait, with a deadline, for the worker's checkout to confirm the order."""
    deadline = asyncio.get_running_loop().time() + 30
    while (await read(service, key, f"/v1/order/{order_id}")).json()["status"] != "confirmed":
        assert asyncio.get_running_loop().time() < deadline, f"order {order_id} never confirmed"
        await asyncio.sleep(0.2)


async def test_an_operator_follows_a_sandbox_order_to_delivered_and_redelivers_its_webhook(
    browser: Browser, console_service: ConsoleService
) -> None:
    account = console_service.new_account("console-orders@example.com")
    test_key = account["test_api_key"]
    with running_receiver() as receiver:
        async with watched_page(browser, console_service.base_url, "orders") as watched:
            page = watched.page
            await page.goto("/console")
            await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
            await watched.check("sign-in")
            await page.get_by_label("API key").fill("oatl_test_not-a-real-key")
            await page.get_by_role("button", name="Sign in").click()
            await expect(page.get_by_role("alert")).to_have_text("invalid API key")  # as the API words it

            await sign_in(page, test_key)
            await expect(page.get_by_test_id("mode")).to_have_text("Test mode")
            assert await page.evaluate("sessionStorage.getItem('orderatlas.apiKey')") == test_key
            assert await page.evaluate("localStorage.length") == 0 and await page.context.cookies() == []
            await watched.check("overview")

            await page.get_by_role("link", name="Orders").click()
            await expect(page.get_by_role("heading", name="Orders")).to_be_visible()
            placed = await place(
                console_service, test_key, webhook_url=receiver.url, external_order_id="ebay-4711"
            )
            order_id = str(placed["order_id"])
            row = page.get_by_role("row").filter(has_text="ebay-4711")
            await expect(row).to_be_visible()  # the list refreshes by itself
            await expect(row.get_by_test_id("order-status")).to_have_text("confirmed")
            other = await place(console_service, test_key, external_order_id="ebay-other")
            await page.get_by_label("Search").fill("4711")
            await page.get_by_role("button", name="Filter").click()
            await expect(page.get_by_role("caption")).to_have_text("Orders matching: 1")
            await page.get_by_label("Status").select_option("delivered")
            await page.get_by_role("button", name="Filter").click()
            await expect(page.get_by_role("caption")).to_have_text("Orders matching: 0")
            await page.get_by_label("Status").select_option("")
            await page.get_by_role("button", name="Filter").click()
            await watched.check("orders")

            await page.get_by_role("row").filter(has_text="ebay-4711").get_by_role("link").click()
            await expect(page.get_by_test_id("status")).to_have_text("confirmed")
            await expect(page.locator("[data-field=external_order_id]")).to_have_text("ebay-4711")
            await expect(page.locator("[data-field=id]")).to_have_text(order_id)
            await expect(page.get_by_test_id("timeline")).to_contain_text("processing → confirmed")
            await watched.check("order-confirmed")
            for step in ("shipped", "out_for_delivery", "delivered"):
                await page.get_by_role("button", name="Advance").click()
                await expect(page.get_by_test_id("status")).to_have_text(step)
            await expect(page.get_by_test_id("timeline")).to_contain_text("out_for_delivery → delivered")
            await expect(page.get_by_test_id("tracking")).not_to_have_text("—")
            await expect(page.get_by_text("No moves are open from this status.")).to_be_visible()

            await asyncio.to_thread(
                receiver.wait_for, 5
            )  # created, confirmed ... delivered: the sends are done
            created = page.get_by_role("row").filter(has_text="order.created")
            await expect(created.get_by_test_id("delivery-outcome")).to_have_text("delivered")
            await expect(created.get_by_test_id("attempt-count")).to_have_text("1")
            before = len(receiver.requests)
            await created.get_by_role("button", name=re.compile("^Redeliver")).click()
            await expect(created.get_by_test_id("attempt-count")).to_have_text("2")
            assert (await asyncio.to_thread(receiver.wait_for, before + 1))[-1].json()[
                "event"
            ] == "order.created"
            await watched.check("order-delivered")

            await page.get_by_role("link", name="Webhooks").click()
            await page.get_by_label("Event").select_option("order.created")
            await page.get_by_label("Order id").fill(order_id)
            await page.get_by_role("button", name="Filter").click()
            await expect(page.get_by_role("row").filter(has_text="order.created")).to_have_count(1)
            await page.get_by_text("2 attempt(s)").click()
            await expect(page.get_by_test_id("attempt")).to_have_count(2)
            await watched.check("webhooks")

            # Convert tracking and drop it (docs/conversion.md): the sandbox mints a label at once
            # once a ship-from is set, which only a live key may set.
            async with httpx.AsyncClient(base_url=console_service.base_url) as api:
                ship_from = {"ship_from_name": "Console", "ship_from_line1": "1 Main St"}
                ship_from |= {"ship_from_city": "Austin", "ship_from_zip": "78701"}
                set_up = await api.put(
                    "/v1/settings", json=ship_from, headers={"X-API-Key": account["api_key"]}
                )
            assert set_up.status_code == 200, set_up.text
            await confirmed(console_service, test_key, str(other["order_id"]))
            await page.goto(f"/console#/order/{other['order_id']}")
            await expect(page.get_by_test_id("aqualine")).to_have_text("—")
            await page.get_by_role("button", name="Convert tracking").click()
            await expect(page.get_by_test_id("aqualine")).to_have_text(re.compile("^AQUA"))
            label = (await read(console_service, test_key, f"/v1/order/{other['order_id']}")).json()
            await expect(page.get_by_test_id("aqualine")).to_have_text(label["aqualine_tracking"])
            await expect(page.get_by_role("button", name="Convert tracking")).to_have_count(0)
            await watched.check("order-converted")
            await page.get_by_role("button", name="Drop conversion").click()
            await expect(page.get_by_test_id("aqualine")).to_have_text("—")
            await expect(page.get_by_role("button", name="Drop conversion")).to_have_count(0)
            dropped = (await read(console_service, test_key, f"/v1/order/{other['order_id']}")).json()
            assert dropped["aqualine_tracking"] in ("", None)
            assert label["aqualine_tracking"] in str(dropped["dropped_aqualine_tracking"])

            await page.get_by_role("link", name="Settings").click()
            # A test key changes test mode's own webhook URL (issue 7), and no shared setting.
            await page.get_by_label("Webhook URL", exact=True).fill(receiver.url)
            await page.get_by_role("button", name="Save settings").click()
            await expect(page.get_by_role("status").filter(has_text="Settings saved.")).to_be_visible()
            own = (await read(console_service, test_key, "/v1/settings")).json()
            assert own["webhook_url"] == receiver.url
            live_view = (await read(console_service, account["api_key"], "/v1/settings")).json()
            assert live_view["webhook_url"] != receiver.url  # live mode's own stays as it was
            await page.get_by_label("Ship-from city").fill("Dallas")  # the live key set Austin above
            await page.get_by_role("button", name="Save settings").click()
            async with httpx.AsyncClient(base_url=console_service.base_url) as api:
                said = await api.put(
                    "/v1/settings", json={"ship_from_city": "Dallas"}, headers={"X-API-Key": test_key}
                )
            assert (said.status_code, said.json()["code"]) == (403, "live_key_required")
            # the console shows the refusal in the API's words, and nothing changed
            await expect(page.get_by_role("alert")).to_have_text(said.json()["error"])
            assert (await read(console_service, test_key, "/v1/settings")).json()[
                "ship_from_city"
            ] == "Austin"
            await watched.check("settings-test-key")


async def test_an_operator_changes_settings_rotates_the_secret_tops_up_and_manages_keys(
    browser: Browser, console_service: ConsoleService
) -> None:
    account = console_service.new_account("console-settings@example.com")
    live_key = account["api_key"]
    with running_receiver() as receiver:
        async with watched_page(browser, console_service.base_url, "account") as watched:
            page = watched.page
            await sign_in(page, live_key)
            await expect(page.get_by_test_id("mode")).to_have_text("Live mode")

            await page.get_by_role("link", name="Settings").click()
            await page.get_by_label("Webhook URL", exact=True).fill(receiver.url)
            await page.get_by_label("Ship-from name").fill("Console Store")
            await page.get_by_label("Convert tracking for eBay").check()
            await page.get_by_role("button", name="Save settings").click()
            await expect(page.get_by_role("status").filter(has_text="Settings saved.")).to_be_visible()
            saved = (await read(console_service, live_key, "/v1/settings")).json()
            assert (saved["webhook_url"], saved["ship_from_name"], saved["convert_tracking"]) == (
                receiver.url,
                "Console Store",
                True,
            )
            old_secret = saved["webhook_secret"]
            await page.get_by_role("button", name="Rotate webhook secret").click()
            shown = page.get_by_test_id("shown-once")
            await expect(shown).not_to_have_value("")
            rotated = (await read(console_service, live_key, "/v1/settings")).json()["webhook_secret"]
            assert await shown.input_value() == rotated != old_secret
            await watched.check("settings-rotated")

            await page.get_by_role("link", name="Billing").click()
            await expect(page.get_by_test_id("balance")).to_have_text("50")
            await page.get_by_label("Credits to buy").fill("100")
            await page.get_by_role("button", name="Top up").click()
            await page.wait_for_url(re.compile(r"/pay/"))  # the fake Stripe's checkout: visiting it pays
            await expect(page.locator("body")).to_contain_text("checkout.session.completed")
            await page.goto("/console#/billing")
            await expect(page.get_by_test_id("balance")).to_have_text("150")
            await expect(page.get_by_role("row").filter(has_text="deposit")).to_have_count(1)
            await watched.check("billing")

            await page.get_by_role("link", name="API keys").click()
            await page.get_by_label("New key name").fill("console-made")
            await page.get_by_label("Mode").select_option("test")
            await page.get_by_role("button", name="Create key").click()
            made = page.get_by_test_id("shown-once")
            await expect(made).to_have_value(re.compile("^oatl_test_"))
            made_key = await made.input_value()
            assert (await read(console_service, made_key, "/v1/settings")).is_success
            await page.reload()
            row = page.get_by_role("row").filter(has_text="console-made")
            await row.get_by_text("Edit").click()
            await row.get_by_label("Name").fill("console-renamed")
            await row.get_by_label(re.compile("^Webhook URL override")).fill("https://hooks.example.com/key")
            await row.get_by_role("button", name="Save key").click()
            renamed = page.get_by_role("row").filter(has_text="console-renamed")
            await expect(renamed).to_contain_text("https://hooks.example.com/key")
            await watched.check("keys")
            revoke = renamed.get_by_role("button", name=re.compile("^Revoke"))
            await revoke.click()
            await expect(revoke).to_have_text("Click again to revoke")
            await revoke.click()
            await expect(page.get_by_role("row").filter(has_text="console-renamed")).to_contain_text(
                "revoked"
            )
            gone = await read(console_service, made_key, "/v1/settings")
            assert gone.status_code == 401

            await page.get_by_role("button", name="Sign out").click()
            await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
            assert await page.evaluate("sessionStorage.length") == 0


def test_without_a_browser_the_console_tests_fail_and_say_how_to_install_one() -> None:
    nowhere = {"PATH": "/nonexistent"}
    try:
        require_chromium(nowhere)
    except BaseException as failure:  # pytest.fail raises Failed, a BaseException
        assert type(failure).__name__ == "Failed"
        assert "apt-get install chromium" in str(failure) and str(failure) == HOW_TO_INSTALL
    else:
        raise AssertionError("require_chromium found a browser on an empty PATH")
    assert require_chromium() and poll(lambda: True, timeout_s=1, what="nothing")
