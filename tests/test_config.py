"""Settings from the environment."""

import base64

import pytest
from pydantic import ValidationError

from orderatlas.config import Settings


def test_the_retry_schedule_reads_commas_or_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERATLAS_WEBHOOK_RETRY_SCHEDULE_S", "5, 10,15")
    assert Settings().webhook_retry_schedule_s == [5, 10, 15]
    monkeypatch.setenv("ORDERATLAS_WEBHOOK_RETRY_SCHEDULE_S", "5, ,10")
    assert Settings().webhook_retry_schedule_s == [5, 10]
    monkeypatch.setenv("ORDERATLAS_WEBHOOK_RETRY_SCHEDULE_S", "[1, 2]")
    assert Settings().webhook_retry_schedule_s == [1, 2]
    monkeypatch.setenv("ORDERATLAS_WEBHOOK_RETRY_SCHEDULE_S", "5,-1")
    with pytest.raises(ValidationError):
        Settings()


def test_the_secret_key_must_be_32_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERATLAS_SECRET_KEY", base64.urlsafe_b64encode(b"x" * 16).decode())
    with pytest.raises(ValidationError, match="32 bytes"):
        Settings()
    monkeypatch.setenv("ORDERATLAS_SECRET_KEY", base64.urlsafe_b64encode(b"x" * 32).decode())
    assert Settings().secret_key


def test_the_placement_price_reads_only_orderatlas_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COST_ORDER_PLACEMENT", "0")  # another program's variable, not ours
    assert Settings().cost_order_placement == 2
    monkeypatch.setenv("ORDERATLAS_PLACEMENT_COST", "4")  # the older name still works
    assert Settings().cost_order_placement == 4
    monkeypatch.setenv("ORDERATLAS_COST_ORDER_PLACEMENT", "7")  # and the new name wins over it
    assert Settings().cost_order_placement == 7
    assert Settings(cost_order_placement=3).cost_order_placement == 3


def test_worker_intervals_have_their_defaults_and_reach_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    from orderatlas.worker import worker_options

    defaults = worker_options(Settings(redis_url="redis://127.0.0.1:1/0"))
    assert defaults["poll_delay"] == 0.02
    sweeps = [
        job
        for job in defaults["cron_jobs"]
        if job.name.endswith(("dispatch_due_webhooks", "refresh_due_orders"))
    ]
    assert len(sweeps) == 2 and all(job.second == set(range(0, 60, 5)) for job in sweeps)
    monkeypatch.setenv("ORDERATLAS_WORKER_POLL_DELAY_S", "0.05")
    monkeypatch.setenv("ORDERATLAS_WORKER_SWEEP_EVERY_S", "1")
    tuned = worker_options(Settings(redis_url="redis://127.0.0.1:1/0"))
    assert tuned["poll_delay"] == 0.05
    assert all(
        job.second == set(range(60)) for job in tuned["cron_jobs"] if job.name in {j.name for j in sweeps}
    )
    monkeypatch.setenv("ORDERATLAS_WORKER_SWEEP_EVERY_S", "7")  # would run at :49 and again at :00
    with pytest.raises(ValidationError, match="must divide 60"):
        Settings()
