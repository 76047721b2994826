"""Articles a second: a local batch (-j 2) against a Dask cluster of the same size here.

    pip install -e '.[dask]' && python benchmarks/cluster.py [ROUNDS]

Each round builds 20 variants of the seed article (all editions, --force) as a local
batch, then starts a scheduler and two one-thread workers on loopback and builds them
twice there: on new workers, then on workers that have built before. Times are of the
whole command. Every process it starts ends with its round.
"""

from __future__ import annotations

import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COUNT = 20


def timed(folder: Path, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "exporter", "build", "articles", "--force", *args],
                   cwd=folder, check=True, capture_output=True)
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def cluster(folder: Path, port: int) -> list[subprocess.Popen[bytes]]:
    dask = [sys.executable, "-m", "dask"]
    processes = [subprocess.Popen([*dask, "scheduler", "--host", "127.0.0.1", "--port",
                                   str(port), "--no-dashboard"], stderr=subprocess.DEVNULL)]
    logs = [folder / f"worker-{n}.log" for n in range(2)]
    for log in logs:
        with log.open("wb") as stream:
            processes.append(subprocess.Popen(
                [*dask, "worker", f"tcp://127.0.0.1:{port}", "--host", "127.0.0.1",
                 "--nthreads", "1", "--no-nanny", "--no-dashboard"], stderr=stream, cwd=folder))
    while not all("Registered to" in log.read_text(errors="replace") for log in logs):
        time.sleep(0.1)
    return processes


def main(rounds: int) -> None:
    times: dict[str, list[float]] = {"local batch": [], "cluster, new": [], "cluster, warm": []}
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / "articles").mkdir()
        seed = (ROOT / "content" / "pokrovsk.md").read_text(encoding="utf-8")
        for n in range(COUNT):
            (folder / "articles" / f"a{n:02d}.md").write_text(
                seed.replace('title: "The Battle', f'title: "No. {n}: The Battle'), encoding="utf-8")
        for _ in range(rounds):
            times["local batch"].append(timed(folder, "-o", "local", "-j", "2"))
            port = free_port()
            processes = cluster(folder, port)
            try:
                address = f"tcp://127.0.0.1:{port}"
                times["cluster, new"].append(timed(folder, "-o", "dask", "--scheduler", address))
                times["cluster, warm"].append(timed(folder, "-o", "dask", "--scheduler", address))
            finally:
                for process in [*processes[1:], processes[0]]:  # workers first
                    process.terminate()
                    process.wait(30)
            for built in (folder / "dask").glob("*.*"):
                assert built.read_bytes() == (folder / "local" / built.name).read_bytes(), built
    for case, seconds in times.items():
        median = statistics.median(seconds)
        print(f"{case:14} median {median:.1f} s, {COUNT / median:.1f} articles/s "
              f"(runs: {', '.join(f'{s:.1f}' for s in seconds)})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
