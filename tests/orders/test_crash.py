"""Workers SIGKILLed mid-checkout and restarted: every order ends, none is bought twice, refunds match."""

from pathlib import Path

from tests.chaos import run_chaos


def test_killing_workers_mid_checkout_never_buys_twice_or_loses_credits(
    data_dir: Path, tmp_path: Path
) -> None:
    report = run_chaos(tmp_path, data_dir, orders=36, workers=2, kills=4, latency_ms=150, seed=11)
    print("\n".join(report.lines()))
    assert report.kills == 4
    assert report.stuck_orders == 0
    assert report.double_purchases == 0
    assert report.failed_with_purchase == 0
    assert report.placed_without_purchase == 0
    assert report.refund_mismatches == 0
    assert report.ledger_mismatches == 0
    assert report.purchases > 0
