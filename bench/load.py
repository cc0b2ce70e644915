"""Closed-loop HTTP load: wrk when installed, else an asyncio generator in a separate process.

Both keep `connections` keep-alive connections busy for `duration` seconds and report requests,
non-2xx answers and latency percentiles. Run as a script, this file is the asyncio generator.
"""

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Load:
    requests: int
    failed: int  # non-2xx answers and socket errors
    seconds: float
    p50_ms: float
    p99_ms: float
    tool: str

    @property
    def ok_per_s(self) -> float:
        return (self.requests - self.failed) / self.seconds if self.seconds else 0.0


_WRK_SCRIPT = """
wrk.method = %(method)s
wrk.body = %(body)s
%(headers)s
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests": %%d, "failed": %%d, "us": %%d, "p50": %%d, "p99": %%d}\\n',
    summary.requests, e.status + e.connect + e.read + e.write + e.timeout, summary.duration,
    latency:percentile(50), latency:percentile(99)))
end
"""


def _lua(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid Lua string literal for this ASCII text


def _wrk(url: str, method: str, body: str, headers: dict[str, str], connections: int, duration: int) -> Load:
    lines = "\n".join(f"wrk.headers[{_lua(k)}] = {_lua(v)}" for k, v in headers.items())
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_WRK_SCRIPT % {"method": _lua(method), "body": _lua(body), "headers": lines})
    try:
        done = subprocess.run(
            [
                "wrk",
                "-t",
                "2",
                "-c",
                str(connections),
                "-d",
                f"{duration}s",
                "--timeout",
                "10s",
                "-s",
                script.name,
                url,
            ],
            capture_output=True,
            text=True,
            timeout=duration + 60,
            check=True,
        )
    finally:
        Path(script.name).unlink()
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return Load(
        result["requests"],
        result["failed"],
        result["us"] / 1e6,
        result["p50"] / 1000,
        result["p99"] / 1000,
        "wrk",
    )


def _asyncio(
    url: str, method: str, body: str, headers: dict[str, str], connections: int, duration: int
) -> Load:
    args = [
        sys.executable,
        __file__,
        url,
        "--method",
        method,
        "--body",
        body,
        "--connections",
        str(connections),
        "--duration",
        str(duration),
        "--headers",
        json.dumps(headers),
    ]
    done = subprocess.run(args, capture_output=True, text=True, timeout=duration + 60, check=True)
    return Load(**json.loads(done.stdout))


def drive(
    url: str,
    *,
    method: str = "GET",
    body: str = "",
    headers: dict[str, str] | None = None,
    connections: int = 16,
    duration: int = 10,
) -> Load:
    runner = _wrk if shutil.which("wrk") else _asyncio
    return runner(url, method, body, headers or {}, connections, duration)


# The fallback generator: raw HTTP/1.1 on asyncio streams (an HTTP client library would be the bottleneck).


async def _connection(
    host: str, port: int, request: bytes, until: float, latencies: list[float], failures: list[int]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if not head[9:10] == b"2":
                failures.append(1)
    finally:
        writer.close()


async def _generate(
    url: str, method: str, body: str, headers: dict[str, str], connections: int, duration: int
) -> Load:
    parts = urlsplit(url)
    payload = body.encode()
    head = [
        f"{method} {parts.path or '/'} HTTP/1.1",
        f"Host: {parts.netloc}",
        f"Content-Length: {len(payload)}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    request = ("\r\n".join(head) + "\r\n\r\n").encode() + payload
    latencies: list[float] = []
    failures: list[int] = []
    started = time.perf_counter()
    until = started + duration
    await asyncio.gather(
        *(
            _connection(parts.hostname or "127.0.0.1", parts.port or 80, request, until, latencies, failures)
            for _ in range(connections)
        )
    )
    elapsed = time.perf_counter() - started
    ms = sorted(x * 1000 for x in latencies) or [0.0]
    return Load(
        len(latencies), len(failures), elapsed, ms[len(ms) // 2], ms[int(len(ms) * 0.99) - 1], "asyncio"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="asyncio HTTP load generator (bench/load.py)")
    parser.add_argument("url")
    parser.add_argument("--method", default="GET")
    parser.add_argument("--body", default="")
    parser.add_argument("--headers", default="{}")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=int, default=10)
    a = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    load = asyncio.run(_generate(a.url, a.method, a.body, json.loads(a.headers), a.connections, a.duration))
    print(json.dumps(load.__dict__))


if __name__ == "__main__":
    main()
