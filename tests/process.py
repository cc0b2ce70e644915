"""Running the real `orderatlas` command in child processes, as a user would."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

T = TypeVar("T")
ORDERATLAS = [sys.executable, "-m", "orderatlas.cli"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# Test-only worker intervals (production: 0.5 s and 5 s), so that a test waits on the product,
# not on idle intervals. Benchmarks pass production_intervals=True to measure the defaults.
TEST_INTERVALS = {"ORDERATLAS_WORKER_POLL_DELAY_S": "0.05", "ORDERATLAS_WORKER_SWEEP_EVERY_S": "1"}


def clean_env(*, production_intervals: bool = False, **extra: str) -> dict[str, str]:
    """The caller's environment without any ORDERATLAS_* setting: the embedded default.

    DNS lookups are off: a test must never send a packet beyond loopback, and a fuzzed
    webhook_url host would otherwise be looked up. Rate limits are off too (accounts are created
    unlimited, failed keys are not counted): tests and benchmarks send far more than 60 requests
    a minute; the rate-limit tests pass the limits they are about in `extra`. The limiter's Redis
    deadline is generous, so a loaded test machine never makes a limit test fail open. Workers use
    TEST_INTERVALS unless `production_intervals`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERATLAS_")}
    if not production_intervals:
        env.update(TEST_INTERVALS)
    env["ORDERATLAS_WEBHOOK_RESOLVE_DNS"] = "false"
    env["ORDERATLAS_DEFAULT_RATE_LIMIT"] = "0"
    env["ORDERATLAS_INVALID_KEY_RATE_LIMIT"] = "0"
    env["ORDERATLAS_RATE_LIMIT_TIMEOUT_MS"] = "2000"
    env.update(extra)
    return env


def run_cli(
    *args: str, data_dir: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ORDERATLAS, *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        env=env or clean_env(),
        timeout=120,
    )


def create_account(data_dir: Path, email: str, *, test_credits: int, live_credits: int = 0) -> dict[str, Any]:
    """`orderatlas accounts create` with both balances set explicitly."""
    done = run_cli(
        "accounts",
        "create",
        "--email",
        email,
        "--credits",
        str(live_credits),
        "--test-credits",
        str(test_credits),
        data_dir=data_dir,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def poll(check: Callable[[], T | None], *, timeout_s: float, what: str) -> T:
    """Wait for an observable condition of a child process, with a deadline (never a blind sleep)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(0.05)


class Service:
    """One `orderatlas <command>` child process with its log file."""

    def __init__(self, command: list[str], data_dir: Path, log_path: Path, env: dict[str, str]) -> None:
        self.log_path = log_path
        self._log = log_path.open("w")
        self.process = subprocess.Popen(
            [*ORDERATLAS, *command, "--data-dir", str(data_dir)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
        )

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=60)
        self._log.close()
        return code

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def wait_healthy(base_url: str, service: Service, timeout_s: float = 90) -> None:
    def healthy() -> bool | None:
        assert service.process.poll() is None, f"service exited early:\n{service.log}"
        try:
            return httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200 or None
        except httpx.TransportError:
            return None

    poll(healthy, timeout_s=timeout_s, what=f"{base_url}/healthz")


def wait_final(base_url: str, key: str, order_id: str, timeout_s: float = 60) -> dict[str, Any]:
    def final() -> dict[str, Any] | None:
        detail: dict[str, Any] = httpx.get(
            f"{base_url}/v1/order/{order_id}", headers={"X-API-Key": key}
        ).json()
        return None if detail["status"] in ("pending", "processing") else detail

    return poll(final, timeout_s=timeout_s, what=f"order {order_id} to finish")


class PrivateRedis:
    """A redis-server of this test's own on a free loopback port, to stop and break at will (never
    the machine's shared one, nor the suite's). The binary is the one the embedded default ships."""

    def __init__(self, log_path: Path, port: int | None = None) -> None:
        from orderatlas.embedded import redis_server_binary

        self.port = port or free_port()  # a port of its own, or the one a restarted server had
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._log = log_path.open("a")
        self.process = subprocess.Popen(
            [str(redis_server_binary()), "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no", "--daemonize", "no"],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        poll(lambda: self._answers() or None, timeout_s=10, what=f"redis-server on port {self.port}")

    def _answers(self) -> bool:
        from orderatlas.embedded import redis_answers

        return redis_answers(host="127.0.0.1", port=self.port, socket_connect_timeout=0.2)

    def client(self) -> Any:
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self._log.close()
