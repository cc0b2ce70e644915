"""The benchmark suite of issue 8: OrderAtlas's production split against a hand-written ceiling.

    .venv/bin/python bench/run.py            # the full run (about 5 minutes)
    .venv/bin/python bench/run.py --quick    # shorter phases (about 2 minutes)

It starts `orderatlas api` and `orderatlas worker` on a scratch database (the machine's servers
when ORDERATLAS_DATABASE_URL and ORDERATLAS_REDIS_URL are set, see bench/scratch.py; the embedded
ones otherwise), and the ceiling app (bench/ceiling.py) beside them on the same database. wrk
(or bench/load.py's asyncio generator) drives both with the same clients against one hot
account each; pgbench runs the ceiling's order transaction; then the worker drains the orders the
API accepted. Every figure is printed next to its ceiling and goal, from this one run. Only
loopback is ever contacted.
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import backlog, pgbench, profile  # noqa: E402
from bench.load import Load, drive  # noqa: E402
from bench.scratch import Scratch, scratch_services  # noqa: E402
from tests.factories import legacy_order  # noqa: E402
from tests.process import Service, clean_env, free_port, poll, run_cli, wait_healthy  # noqa: E402

CREDITS = 1_000_000_000


@dataclass
class Phases:
    load_s: int
    warmup_s: int
    checkout_s: int
    soak_requests: int
    soak_max_s: int
    clients: int
    api_processes: int
    scale_workers: int
    backlog: int
    profile_dir: Path | None


@dataclass
class Results:
    figures: dict[str, object] = field(default_factory=dict)

    def add(self, name: str, value: object) -> None:
        self.figures[name] = value
        print(f"  {name}: {value}", flush=True)


def _machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return f"{platform.node()}: {os.cpu_count()} x {model}, Python {platform.python_version()}"


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def _account(scratch: Scratch, env: dict[str, str], email: str) -> dict[str, str]:
    done = run_cli(
        "accounts",
        "create",
        "--email",
        email,
        "--test-credits",
        str(CREDITS),
        data_dir=scratch.workdir / "data",
        env=env,
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def _ceiling(scratch: Scratch, port: int, processes: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CEILING_DATABASE_URL": scratch.database_url, "PYTHONPATH": str(ROOT)}
    log = (scratch.workdir / "ceiling.log").open("w")
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.ceiling:app",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
        "--workers",
        str(processes),
    ]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def _healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    def up() -> bool | None:
        assert process.poll() is None, "the ceiling app exited early"
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200 or None
        except httpx.TransportError:
            return None

    poll(up, timeout_s=60, what=f"{url}/healthz")


def _post(url: str, key: str, seconds: int, clients: int) -> Load:
    body = json.dumps(legacy_order())
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    return drive(
        f"{url}/v1/order", method="POST", body=body, headers=headers, connections=clients, duration=seconds
    )


def _get(url: str, key: str, order_id: str, seconds: int, clients: int) -> Load:
    return drive(
        f"{url}/v1/order/{order_id}", headers={"X-API-Key": key}, connections=clients, duration=seconds
    )


def _latest_order(scratch: Scratch, account_id: str) -> str:
    with psycopg.connect(scratch.database_url) as conn:
        row = conn.execute(
            "SELECT id FROM orders WHERE account_id = %s ORDER BY created_at DESC LIMIT 1", (account_id,)
        ).fetchone()
    assert row is not None, "no order was accepted"
    return str(row[0])


def _finished(scratch: Scratch, account_id: str) -> tuple[int, int]:
    """(orders finished, orders still in flight) of one account."""
    with psycopg.connect(scratch.database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE status NOT IN ('pending', 'processing')),"
            " count(*) FILTER (WHERE status IN ('pending', 'processing')) FROM orders WHERE account_id = %s",
            (account_id,),
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _forget_ceiling_orders(scratch: Scratch, account_id: str) -> None:
    """The ceiling's orders have no checkout job: the worker's sweep must not spend the checkout
    phase failing them."""
    with psycopg.connect(scratch.database_url) as conn:
        conn.execute("DELETE FROM credit_transactions WHERE account_id = %s", (account_id,))
        conn.execute("DELETE FROM orders WHERE account_id = %s", (account_id,))


def _rss_mb(pid: int) -> float:
    """The largest resident set of the process and its children (uvicorn --workers forks)."""
    pids = [pid] + [
        int(p)
        for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    ]
    sizes = []
    for one in pids:
        try:
            status = Path(f"/proc/{one}/status").read_text()
        except OSError:
            continue
        sizes += [int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmRSS:")]
    return round(max(sizes), 1)


def _drain(
    scratch: Scratch,
    env: dict[str, str],
    account_id: str,
    workers: int,
    seconds: int,
    phases: Phases,
    label: str,
) -> float:
    """Start `workers` worker processes, count checkouts finished per second over the window."""
    services = [
        Service(["worker"], scratch.workdir / "data", scratch.workdir / f"worker-{label}-{i}.log", env)
        for i in range(workers)
    ]
    try:
        start_done, _ = _finished(scratch, account_id)
        poll(
            lambda: _finished(scratch, account_id)[0] > start_done or None,
            timeout_s=60,
            what="the first checkout",
        )
        spy = profile.start(phases.profile_dir, f"worker-{label}", services[0].process.pid, seconds)
        first_done, t0 = _finished(scratch, account_id)[0], time.perf_counter()
        deadline = t0 + seconds
        done, left = first_done, 1
        while time.perf_counter() < deadline and left:
            time.sleep(0.25)
            done, left = _finished(scratch, account_id)
        elapsed = time.perf_counter() - t0
        profile.stop(spy)
    finally:
        for service in services:
            service.stop()
    if not left:
        print(f"  (the queue ran dry: {done - first_done} checkouts in {elapsed:.1f} s)")
    return round((done - first_done) / elapsed, 1)


def _intake(scratch: Scratch, env: dict[str, str], phases: Phases, results: Results) -> dict[str, str]:
    oa_account = _account(scratch, env, "bench-orderatlas@example.com")
    ceiling_account = _account(scratch, env, "bench-ceiling@example.com")
    api_port, ceiling_port = free_port(), free_port()
    api_url, ceiling_url = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{ceiling_port}"
    command = ["api", "--port", str(api_port)]
    if phases.api_processes > 1:
        command += ["--workers", str(phases.api_processes)]
    api = Service(command, scratch.workdir / "data", scratch.workdir / "api.log", env)
    ceiling = _ceiling(scratch, ceiling_port, phases.api_processes)
    oa_key, ceiling_key = oa_account["test_api_key"], ceiling_account["test_api_key"]
    c, w, s = phases.clients, phases.warmup_s, phases.load_s
    try:
        wait_healthy(api_url, api)
        _healthy(ceiling_url, ceiling)
        _post(ceiling_url, ceiling_key, w, c), _post(api_url, oa_key, w, c)  # warm-up: pools, caches
        requests = 0

        ceiling_post = _post(ceiling_url, ceiling_key, s, c)
        spy = profile.start(phases.profile_dir, "api-post", api.process.pid, s)
        oa_post = _post(api_url, oa_key, s, c)
        profile.stop(spy)
        requests += oa_post.requests
        results.add("POST /v1/order accepted/s", _pair(oa_post.ok_per_s, ceiling_post.ok_per_s, 0.5))
        results.add("POST /v1/order p99 ms", _pair(oa_post.p99_ms, ceiling_post.p99_ms, 2.0, lower=True))
        results.add("POST /v1/order p50 ms", _pair(oa_post.p50_ms, ceiling_post.p50_ms, None, lower=True))
        results.add(
            "POST /v1/order failed answers", {"orderatlas": oa_post.failed, "ceiling": ceiling_post.failed}
        )

        oa_order, ceiling_order = (
            _latest_order(scratch, oa_account["account_id"]),
            _latest_order(scratch, ceiling_account["account_id"]),
        )
        _get(api_url, oa_key, oa_order, w, c)
        ceiling_get = _get(ceiling_url, ceiling_key, ceiling_order, s, c)
        spy = profile.start(phases.profile_dir, "api-get", api.process.pid, s)
        oa_get = _get(api_url, oa_key, oa_order, s, c)
        profile.stop(spy)
        requests += oa_get.requests
        results.add("GET /v1/order/:id per s", _pair(oa_get.ok_per_s, ceiling_get.ok_per_s, 0.5))
        results.add("GET /v1/order/:id p99 ms", _pair(oa_get.p99_ms, ceiling_get.p99_ms, None, lower=True))
        results.add("GET failed answers", {"orderatlas": oa_get.failed, "ceiling": ceiling_get.failed})
        results.add("load generator", oa_get.tool)

        if shutil.which("pgbench"):
            tps = pgbench.order_transaction(scratch, ceiling_account["account_id"], ceiling_key, s, c)
            results.add("pgbench order transaction tps", tps)
        _forget_ceiling_orders(scratch, ceiling_account["account_id"])

        results.add(f"API RSS MB after {requests} requests", _rss_mb(api.process.pid))
        if phases.soak_requests > requests:
            soak_started = time.perf_counter()
            while requests < phases.soak_requests and time.perf_counter() - soak_started < phases.soak_max_s:
                requests += _get(api_url, oa_key, oa_order, min(30, phases.soak_max_s), c).requests
            results.add(f"API RSS MB after {requests} requests", _rss_mb(api.process.pid))
    finally:
        api.stop()
        ceiling.terminate()
        ceiling.wait(timeout=30)
    return oa_account


def _pair(ours: float, ceiling: float, goal: float | None, *, lower: bool = False) -> dict[str, object]:
    ratio = ours / ceiling if ceiling else float("inf")
    figure: dict[str, object] = {
        "orderatlas": round(ours, 1),
        "ceiling": round(ceiling, 1),
        "ratio": round(ratio, 2),
    }
    if goal is not None:
        figure["goal"] = f"{'<=' if lower else '>='} {goal}x"
        figure["met"] = ratio <= goal if lower else ratio >= goal
    return figure


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="5 s phases, no soak, no scaling run")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument(
        "--api-processes", type=int, default=1, help="`orderatlas api --workers N`; the ceiling gets as many"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="record py-spy profiles (collapsed stacks) of the API and worker here",
    )
    parser.add_argument(
        "--worker-poll-delay",
        type=float,
        default=0.02,
        help="ORDERATLAS_WORKER_POLL_DELAY_S for the processes (default 0.02; 0: the product's default, "
        "also 0.02 s; 0.5 s, arq's own, caps one worker at 2 x ORDERATLAS_WORKER_MAX_JOBS a second)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = parser.parse_args()
    phases = Phases(
        load_s=5 if args.quick else 15,
        warmup_s=2 if args.quick else 3,
        checkout_s=10 if args.quick else 30,
        soak_requests=0 if args.quick else 100_000,
        soak_max_s=90,
        clients=args.clients,
        api_processes=args.api_processes,
        scale_workers=0 if args.quick else 2,
        backlog=2000 if args.quick else 8000,
        profile_dir=args.profile,
    )
    results = Results()
    results.add("machine", _machine())
    results.add("load before", _uptime())
    started = time.perf_counter()
    with scratch_services(keep=args.keep) as scratch:
        # Production intervals, but the poll the worker phase is run with (see --worker-poll-delay).
        env = clean_env(production_intervals=True, **scratch.env())
        if args.worker_poll_delay:
            env["ORDERATLAS_WORKER_POLL_DELAY_S"] = str(args.worker_poll_delay)
        results.add("worker poll delay s", args.worker_poll_delay or "0.02 (the default)")
        migrated = run_cli("migrate", data_dir=scratch.workdir / "data", env=env)
        assert migrated.returncode == 0, migrated.stderr
        account = _intake(scratch, env, phases, results)
        template = _latest_order(scratch, account["account_id"])
        backlog.queue_checkouts(scratch, account["account_id"], template, phases.backlog)
        queued = _finished(scratch, account["account_id"])[1]
        results.add("checkouts queued (the API's, and copies of one of them)", queued)
        results.add(
            "checkouts/s, 1 worker process",
            _drain(scratch, env, account["account_id"], 1, phases.checkout_s, phases, "1"),
        )
        if phases.scale_workers > 1 and _finished(scratch, account["account_id"])[1] > 0:
            results.add(
                f"checkouts/s, {phases.scale_workers} worker processes",
                _drain(
                    scratch,
                    env,
                    account["account_id"],
                    phases.scale_workers,
                    phases.checkout_s,
                    phases,
                    str(phases.scale_workers),
                ),
            )
        if args.keep:
            print(f"  logs kept in {scratch.workdir}")
    results.add("load after", _uptime())
    results.add("run took s", round(time.perf_counter() - started))
    if args.json:
        args.json.write_text(json.dumps(results.figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
