"""The product as a user meets it: the `orderatlas` command in real processes on the embedded default."""

import json
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.factories import legacy_order, multi_order
from tests.process import (
    ORDERATLAS,
    Service,
    clean_env,
    create_account,
    free_port,
    run_cli,
    wait_final,
    wait_healthy,
)
from tests.receiver import running_receiver


def test_every_command_has_help() -> None:
    accounts = [["accounts"], ["accounts", "create"], ["accounts", "show"], ["accounts", "credit"]]
    for command in ([], ["serve"], ["api"], ["worker"], ["migrate"], *accounts):
        done = subprocess.run([*ORDERATLAS, *command, "--help"], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert "Usage" in done.stdout


def test_accounts_create_prints_keys_once_and_refuses_a_taken_email(data_dir: Path) -> None:
    done = run_cli(
        "accounts", "create", "--email", "seller@example.com", "--credits", "10", data_dir=data_dir
    )
    assert done.returncode == 0, done.stderr
    created = json.loads(done.stdout)
    assert set(created) == {
        "account_id", "email", "credit_balance", "test_credit_balance", "api_key", "test_api_key"
    }  # fmt: skip
    assert created["credit_balance"] == 10  # --credits grants live credits
    assert created["test_credit_balance"] == 1000  # ORDERATLAS_TEST_CREDITS' default, a separate balance
    assert created["api_key"].startswith("oatl_live_") and len(created["api_key"]) >= len("oatl_live_") + 32
    assert created["test_api_key"].startswith("oatl_test_") and len(created["test_api_key"]) >= 42
    again = run_cli("accounts", "create", "--email", "Seller@Example.com", data_dir=data_dir)
    assert again.returncode == 1
    assert '"code": "email_taken"' in again.stderr  # the first run's data survived the restart


def test_migrate_is_repeatable(empty_data_dir: Path) -> None:
    for _ in range(2):  # the first run on a brand-new data dir: initdb, the whole chain of migrations
        done = run_cli("migrate", data_dir=empty_data_dir)
        assert done.returncode == 0, done.stderr


def test_serve_places_both_shapes_and_keeps_data_across_a_restart(data_dir: Path, tmp_path: Path) -> None:
    base_url = f"http://127.0.0.1:{free_port()}"
    port = base_url.rsplit(":", 1)[1]
    serve = Service(["serve", "--port", port], data_dir, tmp_path / "serve.log", clean_env())
    try:
        wait_healthy(base_url, serve)
        key = create_account(data_dir, "seller@example.com", test_credits=10)[
            "test_api_key"
        ]  # while serve runs
        headers = {"X-API-Key": key}
        legacy = httpx.post(f"{base_url}/v1/order", json=legacy_order(), headers=headers).json()
        multi = httpx.post(f"{base_url}/v1/order", json=multi_order(), headers=headers).json()
        assert wait_final(base_url, key, legacy["order_id"])["status"] == "confirmed"
        assert wait_final(base_url, key, multi["order_id"])["status"] == "confirmed"
    finally:
        assert serve.stop() == 0, serve.log

    again = Service(["serve", "--port", port], data_dir, tmp_path / "serve2.log", clean_env())
    try:
        wait_healthy(base_url, again)
        detail = httpx.get(f"{base_url}/v1/order/{legacy['order_id']}", headers={"X-API-Key": key}).json()
        assert detail["status"] == "confirmed"
        assert detail["credits_remaining"] == 6
    finally:
        assert again.stop() == 0, again.log


@pytest.mark.parametrize("workers", [2])
def test_api_and_workers_run_as_separate_processes(data_dir: Path, tmp_path: Path, workers: int) -> None:
    port = str(free_port())
    base_url = f"http://127.0.0.1:{port}"
    run_cli("migrate", data_dir=data_dir)
    api = Service(["api", "--port", port], data_dir, tmp_path / "api.log", clean_env())
    pool: list[Service] = []
    try:
        wait_healthy(base_url, api)
        pool = [
            Service(["worker"], data_dir, tmp_path / f"worker{n}.log", clean_env()) for n in range(workers)
        ]
        key = create_account(data_dir, "seller@example.com", test_credits=20)["test_api_key"]
        order_ids = [
            httpx.post(f"{base_url}/v1/order", json=legacy_order(), headers={"X-API-Key": key}).json()[
                "order_id"
            ]
            for _ in range(4)
        ]
        for order_id in order_ids:
            assert wait_final(base_url, key, order_id)["status"] == "confirmed"
    finally:
        for process in pool:
            process.stop()
        api.stop()
    assert sum("checkout finished" in w.log for w in pool) >= 1


def test_configured_servers_without_a_shared_secret_key_is_a_clear_error(data_dir: Path) -> None:
    env = clean_env(ORDERATLAS_DATABASE_URL="postgresql://postgres@127.0.0.1:1/none")
    done = run_cli("worker", data_dir=data_dir, env=env)
    assert done.returncode == 2
    assert "ORDERATLAS_SECRET_KEY must be set" in done.stderr


def test_a_sandbox_order_walks_to_delivered_with_one_webhook_per_step_and_no_client_call(
    data_dir: Path, tmp_path: Path
) -> None:
    port = str(free_port())
    base_url = f"http://127.0.0.1:{port}"
    # Four times clean_env's 1 s refresh sweep (as 10 s was twice the default 5 s), so that each step
    # is seen on its own even on a busy machine.
    env = clean_env(ORDERATLAS_SANDBOX_SHIP_AFTER_S="4", ORDERATLAS_WEBHOOK_ALLOW_PRIVATE_NETWORKS="true")
    serve = Service(["serve", "--port", port], data_dir, tmp_path / "serve.log", env)
    with running_receiver() as receiver:
        try:
            wait_healthy(base_url, serve)
            key = create_account(data_dir, "seller@example.com", test_credits=10)["test_api_key"]
            body = legacy_order(webhook_url=receiver.url)
            placed = httpx.post(f"{base_url}/v1/order", json=body, headers={"X-API-Key": key})
            assert placed.status_code == 200, placed.text
            receiver.wait_for(1, timeout_s=90, matching=lambda r: r.json()["status"] == "delivered")
        finally:
            assert serve.stop() == 0, serve.log
    changes = [r.json() for r in receiver.requests if r.json()["event"] == "order.status_changed"]
    # Fired in order, each once. The checkout's two are sent at the same moment and may arrive
    # either way round; the later steps, each seen by its own refresh, arrive in order too.
    assert receiver.status_chain() == [
        "pending",
        "processing",
        "confirmed",
        "shipped",
        "out_for_delivery",
        "delivered",
    ]
    assert len(changes) == 5
    assert [event["status"] for event in changes[2:]] == ["shipped", "out_for_delivery", "delivered"]
    delivered = receiver.requests[-1].json()
    assert delivered["order_id"] == placed.json()["order_id"]
    assert delivered["tracking_number"] and delivered["carrier"]
