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
