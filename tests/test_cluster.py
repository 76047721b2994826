"""Batches past one machine: any ``concurrent.futures`` executor, and a real Dask cluster.

The cluster tests start a real ``dask scheduler`` and ``dask worker`` processes on loopback,
each in a process group of its own, which the fixture ends whatever the test did.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import pytest

import exporter
from conftest import SEED
from exporter.batch import build_article
from exporter.errors import ExecutorError, RenderError, SourceError
from exporter.options import Options
from exporter.pipeline import BuildResult, Failure

EXPORTER = [sys.executable, "-m", "exporter"]
DASK = [sys.executable, "-m", "dask"]


def _articles(folder: Path, count: int = 12) -> list[Path]:
    """*count* variants of the seed article in *folder*, and one broken file (the last)."""
    folder.mkdir()
    text = SEED.read_text(encoding="utf-8")
    paths = []
    for number in range(count):
        path = folder / f"article-{number:02d}.md"
        variant = text.replace('title: "The Battle', f'title: "No. {number}: The Battle')
        path.write_text(variant + f"\nA closing line of variant {number}.\n", encoding="utf-8")
        paths.append(path)
    broken = folder / "broken.md"
    broken.write_bytes(b"---\ntitle: [broken\n---\n\ntext\n")
    return [*paths, broken]


def _files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())
            if path.is_file() and not path.name.startswith(".")}


def _cli(*args: str | Path, cwd: Path, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*EXPORTER, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, check=False, timeout=600)


def test_any_executor_builds_the_same_bytes_in_order(tmp_path: Path) -> None:
    sources = _articles(tmp_path / "articles", 3)
    missing = tmp_path / "articles" / "missing.md"
    local = exporter.build_many([*sources, missing], tmp_path / "local", formats=["html", "epub"])
    seen: list[Path] = []
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=spawn) as executor:
        outcomes = exporter.build_many([*sources, missing], tmp_path / "pool",
                                       formats=["html", "epub"], executor=executor, timeout=120,
                                       on_done=lambda outcome: seen.append(outcome.source))
        late = exporter.build_many(sources[:1], tmp_path / "late", formats=["pdf"], reuse=False,
                                   executor=executor, timeout=0.01)
    assert [outcome.source for outcome in outcomes] == [*sources, missing]
    assert sorted(seen) == sorted([*sources, missing])
    assert [type(outcome) for outcome in outcomes] == [type(outcome) for outcome in local]
    assert isinstance(outcomes[-2], Failure) and outcomes[-2].error.line == 2
    assert isinstance(outcomes[-1], Failure) and isinstance(outcomes[-1].error, SourceError)
    assert len(_files(tmp_path / "local")) == 6
    assert _files(tmp_path / "pool") == _files(tmp_path / "local")
    for ours, theirs in zip(outcomes[:3], local[:3], strict=True):
        assert isinstance(ours, BuildResult) and isinstance(theirs, BuildResult)
        assert [o.sha256 for o in ours.outputs] == [o.sha256 for o in theirs.outputs]
    # --timeout holds on the executor's side: the article's process is stopped, nothing written.
    assert isinstance(late[0], Failure) and isinstance(late[0].error, RenderError)
    assert "took longer than" in str(late[0].error)
    assert not (tmp_path / "late").exists() or not _files(tmp_path / "late")


def test_a_thread_pool_leaves_no_process_behind(tmp_path: Path) -> None:
    """Each thread builds in a process of its own, which ends with the thread."""
    sources = _articles(tmp_path / "articles", 3)[:-1]  # (not the broken one)
    for _ in range(2):
        with ThreadPoolExecutor(2) as executor:
            outcomes = exporter.build_many(sources, tmp_path / "out", formats=["html"],
                                           executor=executor)
        assert all(isinstance(outcome, BuildResult) for outcome in outcomes)
        assert multiprocessing.active_children() == []


class _Silent(Executor):
    """An executor that takes tasks and never answers, as one that lost its scheduler may."""

    def submit(self, fn: object, /, *args: object, **kwargs: object) -> Future[object]:
        return Future()


def test_an_executor_that_stops_serving_is_given_up(tmp_path: Path) -> None:
    started = time.monotonic()
    outcomes = exporter.build_many([SEED], tmp_path, executor=_Silent(), alive=lambda: False)
    assert time.monotonic() - started < 10
    assert isinstance(outcomes[0], Failure) and isinstance(outcomes[0].error, ExecutorError)
    assert "not built" in str(outcomes[0].error) and not any(tmp_path.iterdir())


def test_a_daemon_process_says_how_to_start_the_workers(tmp_path: Path) -> None:
    with multiprocessing.get_context("spawn").Pool(1) as pool:  # (its processes are daemons)
        outcome = pool.apply(build_article, (SEED, tmp_path, Options(formats=("html",)), 60,
                                             Path.cwd()))
    assert isinstance(outcome, Failure) and isinstance(outcome.error, ExecutorError)
    assert "--no-nanny" in str(outcome.error) and not any(tmp_path.iterdir())


def test_scheduler_without_the_extra_names_it(tmp_path: Path) -> None:
    code = ("import sys\nsys.modules['distributed'] = None\nfrom exporter.cli import main\n"
            f"main(['build', {str(SEED)!r}, '-o', 'out', '--scheduler', 'tcp://127.0.0.1:9'])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=tmp_path, check=False, timeout=60)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("Error:") and "pip install 'exporter[dask]'" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_unreachable_scheduler_is_an_error(tmp_path: Path) -> None:
    address = f"tcp://127.0.0.1:{_free_port()}"
    result = _cli("build", SEED, "-o", "out", "--scheduler", address, cwd=tmp_path,
                  env={"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "1s"})
    assert result.returncode == ExecutorError.exit_code, result.stderr
    assert result.stderr.startswith(f"Error: cannot reach the Dask scheduler at {address}")
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()


class Cluster:
    """A Dask scheduler and its workers on loopback, each process in a group of its own."""

    def __init__(self, folder: Path, workers: int):
        self.folder = folder
        folder.mkdir()
        self.address = f"tcp://127.0.0.1:{_free_port()}"
        self.processes: list[subprocess.Popen[bytes]] = []
        port = self.address.rsplit(":", 1)[1]
        self.scheduler = self._start("scheduler", "--host", "127.0.0.1", "--port", port,
                                     "--no-dashboard")
        #: Workers of one process each (no nanny), whose tasks build in child processes.
        self.workers = [self._start("worker", self.address, "--host", "127.0.0.1", "--nthreads",
                                    "1", "--no-nanny", "--no-dashboard", "--death-timeout", "60",
                                    "--local-directory", str(folder / f"space-{n}"), log=f"w{n}")
                        for n in range(workers)]
        deadline = time.monotonic() + 120
        while not all("Registered to:" in self.log(f"w{n}") for n in range(workers)):
            assert time.monotonic() < deadline, "the Dask workers did not start"
            assert all(p.poll() is None for p in self.processes), "a Dask process ended"
            time.sleep(0.2)

    def _start(self, *args: str, log: str = "scheduler") -> subprocess.Popen[bytes]:
        with (self.folder / f"{log}.log").open("wb") as stream:
            process = subprocess.Popen([*DASK, *args], stdout=stream, stderr=stream,
                                       cwd=self.folder, start_new_session=True)
        self.processes.append(process)
        return process

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(encoding="utf-8", errors="replace")

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        """Kill a process and the processes it started at once, as a machine that dies."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)

    def close(self) -> None:
        """Workers first (each stops its own children), then the scheduler; then any leftover."""
        for process in [*self.workers, self.scheduler]:
            if process.poll() is None:
                process.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(10)
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)


@pytest.fixture()
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A scheduler and two workers, ended however the test ends."""
    started = Cluster(tmp_path / "cluster", workers=2)
    try:
        yield started
    finally:
        started.close()


@pytest.fixture(scope="module")
def local_batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The articles of :func:`_articles` built as a local batch, in ``local/`` beside them."""
    folder = tmp_path_factory.mktemp("local-batch")
    _articles(folder / "articles")
    result = _cli("build", "articles", "-o", "local", "--jobs", "2", "--report", "local.json",
                  "--manifest", cwd=folder)
    assert result.returncode == 1, result.stderr
    return folder


def _same_as_local(out: Path, local: Path, articles: int = 12) -> None:
    built, expected = _files(out), _files(local)
    expected.pop("SHA256SUMS")
    built.pop("SHA256SUMS", None)
    assert len(expected) == 3 * articles
    assert built == expected


@pytest.mark.slow
def test_cluster_batch_is_a_local_batch(cluster: Cluster, local_batch: Path) -> None:
    work = cluster.folder.parent
    _articles(work / "articles")
    result = _cli("build", "articles", "-o", "out", "--scheduler", cluster.address,
                  "--report", "out.json", "--manifest", cwd=work)
    assert result.returncode == 1, result.stderr
    assert "12 of 13 articles built (0 up to date)" in result.stderr
    assert "Error: articles/broken.md:2:" in result.stderr and "Traceback" not in result.stderr
    _same_as_local(work / "out", local_batch / "local")
    assert (work / "out" / "SHA256SUMS").read_bytes() == \
        (local_batch / "local" / "SHA256SUMS").read_bytes()
    report = (work / "out.json").read_text(encoding="utf-8")
    assert json.loads(report) == json.loads(
        (local_batch / "local.json").read_text(encoding="utf-8").replace('"local/', '"out/'))
    # The build records the workers wrote serve the next build; a bag is the same as a local one.
    good = sorted(str(path.relative_to(work)) for path in (work / "articles").glob("article-*"))
    again = _cli("build", *good, "-o", "out", "--scheduler", cluster.address, "--bag", "bag",
                 cwd=work)
    assert again.returncode == 0, again.stderr
    assert "12 of 12 articles built (12 up to date)" in again.stderr
    here = _cli("build", *good, "-o", "out", "--bag", "bag-here", cwd=work)
    assert here.returncode == 0, here.stderr
    for name in ("manifest-sha256.txt", "exporter-build.json", "bag-info.txt"):
        assert (work / "bag" / name).read_bytes() == (work / "bag-here" / name).read_bytes()


def _first_article(build: subprocess.Popen[str]) -> list[str]:
    """The lines a batch prints until it says one article's editions are written."""
    assert build.stderr is not None
    lines: list[str] = []
    while not lines or not (lines[-1].startswith("Wrote: ") and ".pdf (" in lines[-1]):
        lines.append(build.stderr.readline())
        assert lines[-1], "the batch ended before it built an article: " + "".join(lines)
    return lines


@pytest.mark.slow
def test_a_worker_killed_mid_batch_loses_nothing(cluster: Cluster, local_batch: Path) -> None:
    work = cluster.folder.parent
    _articles(work / "articles")
    build = subprocess.Popen([*EXPORTER, "build", "articles", "-o", "out", "--scheduler",
                              cluster.address], cwd=work, stderr=subprocess.PIPE, text=True)
    try:
        before = _first_article(build)
        cluster.kill(cluster.workers[0])
        _, stderr = build.communicate(timeout=600)
    finally:
        build.kill()
        build.wait()
    assert sum(line.startswith("Wrote:") for line in before) < 12 * 3
    assert build.returncode == 1, stderr
    assert "12 of 13 articles built" in stderr and "Traceback" not in stderr
    _same_as_local(work / "out", local_batch / "local")
    assert not [path.name for path in (work / "out").iterdir() if path.name.endswith(".part")]


@pytest.mark.slow
def test_the_scheduler_going_away_names_what_was_built(cluster: Cluster, local_batch: Path
                                                       ) -> None:
    work = cluster.folder.parent
    _articles(work / "articles")
    build = subprocess.Popen([*EXPORTER, "build", "articles", "-o", "out", "--scheduler",
                              cluster.address, "--report", "out.json"], cwd=work,
                             stderr=subprocess.PIPE, text=True)
    try:
        _first_article(build)
        cluster.kill(cluster.scheduler)
        _, stderr = build.communicate(timeout=600)
    finally:
        build.kill()
        build.wait()
    assert build.returncode == ExecutorError.exit_code, stderr
    assert "Traceback" not in stderr and "distributed" not in stderr
    last = stderr.strip().splitlines()[-2]  # (the report's line comes last)
    assert last.startswith(f"Error: {cluster.address}: the Dask scheduler went away; ")
    record = json.loads((work / "out.json").read_text(encoding="utf-8"))
    built = [e["source"] for e in record["sources"] if e["status"] == "built"]
    lost = [e["source"] for e in record["sources"] if e["status"] == "failed"]
    assert built and lost and "articles/broken.md" in lost
    assert f"{len(built)} of 13 articles built, {len(lost)} not: {', '.join(lost)}" in last
    # What was written is whole and the same as a local build's (an article a worker was
    # building as the scheduler went may be written too, by the worker that built it).
    expected = _files(local_batch / "local")
    written = _files(work / "out")
    assert {f"{Path(source).stem}.pdf" for source in built} <= set(written)
    assert all(expected[name] == data for name, data in written.items())
