"""Shared fixtures: the seed article, built once per session, and a CLI runner."""

from __future__ import annotations

import contextlib
import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from exporter.cli import cli
from validators import close_epubcheck, epubcheck_messages, start_epubcheck

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "content" / "pokrovsk.md"
# A copy of ../shared/seed/000_10d6526a50ac6efc.txt, the article as the user gave it.
SEED_TEXT = ROOT / "tests" / "data" / "pokrovsk-seed.txt"


def run_cli(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    """Run the ``exporter`` command in-process and return Click's result."""
    runner = CliRunner()
    return runner.invoke(cli, [str(arg) for arg in args], env=env, catch_exceptions=False)


@pytest.fixture(scope="session")
def seed_editions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The seed article's three editions, built once by the CLI."""
    out = tmp_path_factory.mktemp("seed-dist")
    result = run_cli("build", SEED, "-o", out)
    assert result.exit_code == 0, result.output
    return {fmt: out / f"pokrovsk.{fmt}" for fmt in ("html", "epub", "pdf")}


@pytest.fixture()
def article_dir(tmp_path: Path) -> Path:
    """A folder holding a copy of the seed article, to build variations in."""
    folder = tmp_path / "articles"
    folder.mkdir()
    shutil.copy(SEED, folder / "pokrovsk.md")
    return folder


@pytest.fixture(scope="session", autouse=True)
def _one_epubcheck(request: pytest.FixtureRequest) -> Iterator[None]:
    """EPUBCheck runs in one JVM for the session, started at once if a test will use it (its
    start-up then overlaps other tests on the second core); it ends with the session."""
    if any(getattr(item.module, "epubcheck_messages", None) is epubcheck_messages
           for item in request.session.items if isinstance(item, pytest.Function)):
        start_epubcheck()
    yield
    close_epubcheck()


class _QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def serving(folder: Path) -> Iterator[str]:
    """*folder* on a loopback web server, as a reader would put it online; its address."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(_QuietFiles, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
