"""`orderatlas accounts credit` and `accounts show`, run as an operator would, in real processes."""

import json
from functools import partial
from pathlib import Path

from orderatlas.config import Settings
from tests.process import clean_env, run_cli


def test_credit_writes_an_adjustment_never_below_zero_and_show_prints_both_balances(
    data_dir: Path, settings: Settings
) -> None:
    # The suite's running PostgreSQL: each command then skips starting an embedded one of its own.
    cli = partial(
        run_cli, data_dir=data_dir, env=clean_env(ORDERATLAS_DATABASE_URL=settings.database_url or "")
    )
    made = cli("accounts", "create", "--email", "Seller@example.com", "--credits", "5")
    assert made.returncode == 0, made.stderr
    created = json.loads(made.stdout)

    refused = cli("accounts", "credit", "--email", "seller@example.com", "--amount", "-7",
                  "--reason", "chargeback")  # fmt: skip
    assert refused.returncode == 1
    assert json.loads(refused.stderr.strip().splitlines()[-1]) == {
        "error": "the balance is 5: an adjustment of -7 would take it below zero",
        "code": "balance_too_low",
    }
    taken = cli("accounts", "credit", "--email", "seller@example.com", "--amount", "-3",
                "--reason", "chargeback")  # fmt: skip
    assert taken.returncode == 0, taken.stderr
    assert json.loads(taken.stdout) == {
        "account_id": created["account_id"],
        "email": "Seller@example.com",
        "mode": "live",
        "amount": -3,
        "credit_balance": 2,
    }
    given = cli("accounts", "credit", "--email", "seller@example.com", "--amount", "50", "--test",
                "--reason", "sandbox goodwill")  # fmt: skip
    assert json.loads(given.stdout)["credit_balance"] == 1050

    shown = cli("accounts", "show", "--email", "SELLER@example.com")
    assert shown.returncode == 0, shown.stderr
    account = json.loads(shown.stdout)
    assert {k: account[k] for k in ("credit_balance", "test_credit_balance", "credits_owed")} == {
        "credit_balance": 2,
        "test_credit_balance": 1050,
        "credits_owed": 0,
    }
    assert [(key["mode"], key["key_prefix"]) for key in account["api_keys"]] == [
        ("live", created["api_key"][:11]),
        ("test", created["test_api_key"][:11]),
    ]
    assert created["api_key"] not in shown.stdout and created["test_api_key"] not in shown.stdout

    unknown = cli("accounts", "show", "--email", "nobody@example.com")
    assert unknown.returncode == 1
    assert '"code": "not_found"' in unknown.stderr
