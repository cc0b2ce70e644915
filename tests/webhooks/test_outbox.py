"""An event whose delivery was cut short by a SIGKILLed worker is delivered after a restart."""

import signal
import threading
from pathlib import Path

import httpx

from tests.factories import legacy_order
from tests.process import Service, clean_env, create_account, free_port, poll, run_cli, wait_healthy
from tests.receiver import running_receiver


def test_an_event_survives_a_worker_killed_mid_delivery(data_dir: Path, tmp_path: Path) -> None:
    env = clean_env(
        ORDERATLAS_WEBHOOK_LEASE_S="2",
        ORDERATLAS_WEBHOOK_TIMEOUT_S="1",
        ORDERATLAS_WEBHOOK_ALLOW_PRIVATE_NETWORKS="true",
    )
    run_cli("migrate", data_dir=data_dir, env=env)
    port = str(free_port())
    base_url = f"http://127.0.0.1:{port}"
    api = Service(["api", "--port", port], data_dir, tmp_path / "api.log", env)
    workers: list[Service] = []
    try:
        with running_receiver() as receiver:
            wait_healthy(base_url, api)
            keys = create_account(data_dir, "seller@example.com", test_credits=10)
            headers = {"X-API-Key": keys["test_api_key"]}
            assert httpx.put(
                f"{base_url}/v1/settings", json={"webhook_url": receiver.url}, headers=headers
            ).is_success
            receiver.hold = threading.Event()  # the receiver takes the first POST and never answers it
            order_id = httpx.post(f"{base_url}/v1/order", json=legacy_order(), headers=headers).json()[
                "order_id"
            ]

            workers.append(Service(["worker"], data_dir, tmp_path / "worker1.log", env))
            first = receiver.wait_for(1)[0]
            workers[0].process.send_signal(signal.SIGKILL)  # dies with the delivery in flight
            workers[0].stop()
            hold, receiver.hold = receiver.hold, None
            hold.set()

            workers.append(Service(["worker"], data_dir, tmp_path / "worker2.log", env))
            same_event = first.headers["webhook-id"]
            copies = receiver.wait_for(
                2, timeout_s=60, matching=lambda r: r.headers["webhook-id"] == same_event
            )
            assert len(copies) >= 2
            assert copies[0].body == copies[1].body
            assert first.json()["order_id"] == order_id

            def delivered() -> bool:
                log = httpx.get(
                    f"{base_url}/v1/webhooks/deliveries?event=order.created", headers=headers
                ).json()
                return log["deliveries"][0]["outcome"] == "delivered"

            poll(lambda: delivered() or None, timeout_s=30, what="the delivery to be marked delivered")
    finally:
        for worker in workers:
            worker.stop()
        api.stop()
