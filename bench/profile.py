"""py-spy profiles of a benchmark phase (`bench/run.py --profile DIR`), as collapsed stacks.

`summarise DIR/x.txt` prints where the samples went (own time and time inside, by function)."""

import subprocess
import sys
from collections import Counter
from pathlib import Path


def start(directory: Path | None, name: str, pid: int, seconds: int) -> subprocess.Popen[bytes] | None:
    if directory is None:
        return None
    directory.mkdir(parents=True, exist_ok=True)
    spy = Path(sys.executable).with_name("py-spy")
    command = [
        str(spy),
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(seconds),
        "--rate",
        "200",
        "--format",
        "raw",
        "--output",
        str(directory / f"{name}.txt"),
        "--nonblocking",
        "--subprocesses",
    ]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(spy: subprocess.Popen[bytes] | None) -> None:
    if spy is not None:
        spy.wait(timeout=60)


def summarise(path: Path, top: int = 40, needle: str = "") -> None:
    own: Counter[str] = Counter()
    inside: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or (needle and needle not in stack):
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inside[frame] += count
    print(f"{total} samples")
    print("-- own time")
    for frame, count in own.most_common(top):
        print(f"{100 * count / total:5.1f}%  {frame}")
    print("-- inside")
    for frame, count in inside.most_common(top):
        print(f"{100 * count / total:5.1f}%  {frame}")


if __name__ == "__main__":
    summarise(Path(sys.argv[1]), needle=sys.argv[2] if len(sys.argv) > 2 else "")
