"""Chaos run: hundreds of sandbox orders while worker processes are SIGKILLed again and again.

    .venv/bin/python bench/chaos.py --orders 300 --workers 3 --kills 12

Prints the counts that must stay at zero: double purchases, stuck orders, refund mismatches,
failed orders that were bought anyway, placed orders with no purchase, ledger mismatches.
Everything runs on this machine: an embedded PostgreSQL and Redis in a temporary directory.
"""

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.chaos import run_chaos  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--timeout", type=float, default=600, help="seconds allowed for every order to finish"
    )
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="orderatlas-chaos-"))
    data_dir = workdir / "data"
    try:
        report = run_chaos(
            workdir,
            data_dir,
            orders=args.orders,
            workers=args.workers,
            kills=args.kills,
            latency_ms=args.latency_ms,
            seed=args.seed,
            settle_timeout_s=args.timeout,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("\n".join(report.lines()))
    print("result:", "clean" if report.clean else "FAILED")
    return 0 if report.clean else 1


if __name__ == "__main__":
    sys.exit(main())
