"""One browser and one `orderatlas serve` (with a fake Stripe) for the console's scenario tests."""

import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright, expect

from tests.conftest import fresh_data_dir
from tests.console.browser import require_chromium
from tests.fake_stripe import FakeStripe, FakeStripeServer
from tests.process import Service, clean_env, create_account, free_port, wait_healthy

STRIPE_WEBHOOK_SECRET = "whsec_console_fake"
# The console refreshes its lists every 5 s (pages/common.js): an expectation waits longer than that.
expect.set_options(timeout=20_000)


@dataclass(frozen=True)
class ConsoleService:
    base_url: str
    data_dir: Path

    def new_account(self, email: str) -> dict[str, str]:
        return create_account(self.data_dir, email, test_credits=1000, live_credits=50)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    executable = require_chromium()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=executable, headless=True)
        yield launched
        await launched.close()


@pytest.fixture(scope="module")
def console_service(
    tmp_path_factory: pytest.TempPathFactory, pgdata_template: Path
) -> Iterator[ConsoleService]:
    """Webhooks may go to 127.0.0.1 (the test's receiver); top-ups go to a fake Stripe there too,
    which, once 'paid', posts the signed event back to this service."""
    data_dir, port = fresh_data_dir(pgdata_template), free_port()
    base_url = f"http://127.0.0.1:{port}"
    fake = FakeStripe(f"{base_url}/v1/billing/stripe/webhook", STRIPE_WEBHOOK_SECRET)
    with FakeStripeServer(fake) as stripe:
        env = clean_env(
            ORDERATLAS_WEBHOOK_ALLOW_PRIVATE_NETWORKS="true",
            ORDERATLAS_SANDBOX_SHIP_AFTER_S="3600",  # only the console's Advance moves orders
            ORDERATLAS_STRIPE_API_BASE=stripe.url,
            ORDERATLAS_STRIPE_TEST_SECRET_KEY="sk_test_fake",
            ORDERATLAS_STRIPE_TEST_WEBHOOK_SECRET=STRIPE_WEBHOOK_SECRET,
            ORDERATLAS_STRIPE_SECRET_KEY="sk_live_fake",
            ORDERATLAS_STRIPE_WEBHOOK_SECRET=STRIPE_WEBHOOK_SECRET,  # the fake signs both modes alike
        )
        log = tmp_path_factory.mktemp("console") / "serve.log"
        serve = Service(["serve", "--port", str(port)], data_dir, log, env)
        try:
            wait_healthy(base_url, serve)
            yield ConsoleService(base_url, data_dir)
        finally:
            serve.stop()
            shutil.rmtree(data_dir, ignore_errors=True)
