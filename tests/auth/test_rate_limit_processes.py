"""The limit as operators meet it: real `orderatlas api` processes, and the accounts commands."""

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.process import Service, clean_env, free_port, run_cli, wait_healthy


def test_two_api_processes_share_one_limit(data_dir: Path, tmp_path: Path) -> None:
    env = clean_env(ORDERATLAS_DEFAULT_RATE_LIMIT="20")
    assert run_cli("migrate", data_dir=data_dir, env=env).returncode == 0
    ports = [str(free_port()), str(free_port())]
    apis = [Service(["api", "--port", p], data_dir, tmp_path / f"api{p}.log", env) for p in ports]
    try:
        for port, api in zip(ports, apis, strict=True):
            wait_healthy(f"http://127.0.0.1:{port}", api)
        done = run_cli("accounts", "create", "--email", "seller@example.com", data_dir=data_dir, env=env)
        key = json.loads(done.stdout)["test_api_key"]

        def get(port: str) -> httpx.Response:
            return httpx.get(
                f"http://127.0.0.1:{port}/v1/dashboard/orders", headers={"X-API-Key": key}, timeout=30
            )

        with ThreadPoolExecutor(max_workers=8) as pool:
            responses = list(pool.map(get, ports * 15))  # 15 to each process, interleaved
    finally:
        for api in apis:
            api.stop()
    by_port = {port: [r.status_code for r in responses[i::2]] for i, port in enumerate(ports)}
    codes = [r.status_code for r in responses]
    assert codes.count(200) == 20 and codes.count(429) == 10  # one limit, not 20 each
    assert all(200 in statuses for statuses in by_port.values())  # both processes served some
    remaining = sorted(int(r.headers["ratelimit-remaining"]) for r in responses if r.status_code == 200)
    assert remaining == list(range(20))  # one shared window counted every admitted request once


def _created(data_dir: Path, email: str, env: dict[str, str]) -> dict[str, str]:
    done = run_cli("accounts", "create", "--email", email, data_dir=data_dir, env=env)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_new_accounts_get_the_default_limit_and_set_rate_limit_applies_at_once(
    data_dir: Path, tmp_path: Path
) -> None:
    port = str(free_port())
    base_url = f"http://127.0.0.1:{port}"
    serve = Service(["serve", "--port", port], data_dir, tmp_path / "serve.log", clean_env())
    try:
        wait_healthy(base_url, serve)
        unset = {k: v for k, v in clean_env().items() if k != "ORDERATLAS_DEFAULT_RATE_LIMIT"}
        headers = {"X-API-Key": _created(data_dir, "ops@example.com", unset)["test_api_key"]}
        lifted = {
            "X-API-Key": _created(data_dir, "load@example.com", clean_env(ORDERATLAS_DEFAULT_RATE_LIMIT="0"))[
                "test_api_key"
            ]
        }
        assert httpx.get(f"{base_url}/v1/settings", headers=headers).json()["rate_limit"] == 60  # the default
        assert httpx.get(f"{base_url}/v1/settings", headers=lifted).json()["rate_limit"] == 0

        done = run_cli(
            "accounts", "set-rate-limit", "--email", "OPS@example.com", "--per-minute", "2", data_dir=data_dir
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == {"email": "ops@example.com", "rate_limit": 2}
        settings = httpx.get(f"{base_url}/v1/settings", headers=headers)  # the 2nd request of the window
        assert settings.json()["rate_limit"] == 2
        refused = httpx.get(f"{base_url}/v1/settings", headers=headers)
        assert refused.status_code == 429
        assert refused.json()["error"] == "rate limit exceeded: 2 requests per minute"

        unlimited = run_cli(
            "accounts", "set-rate-limit", "--email", "ops@example.com", "--per-minute", "0", data_dir=data_dir
        )
        assert unlimited.returncode == 0, unlimited.stderr
        assert httpx.get(f"{base_url}/v1/settings", headers=headers).status_code == 200

        for email, limit, code in [
            ("nobody@example.com", "5", "not_found"),
            ("ops@example.com", "-1", "invalid_rate_limit"),
        ]:
            refused = run_cli(
                "accounts", "set-rate-limit", "--email", email, "--per-minute", limit, data_dir=data_dir
            )
            assert refused.returncode == 1
            assert json.loads(refused.stderr.strip().splitlines()[-1])["code"] == code
    finally:
        assert serve.stop() == 0, serve.log
