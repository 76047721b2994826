"""Editors see what they make: ``exporter preview``, in a real browser and on the wire.

The browser tests drive Debian's Chromium through Playwright against a real
``exporter preview --no-open`` process; the quick ones ask the web application
and the command line directly.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from conftest import SEED, run_cli
from validators import chromium

TITLE = "The Battle for Pokrovsk"


def _ask(address: tuple[str, int], target: str, method: str = "GET",
         host: str = "127.0.0.1") -> tuple[int, bytes]:
    """Send *target* exactly as written (no client tidies ``..`` away); the status and body."""
    with socket.create_connection(address, timeout=10) as connection:
        connection.sendall(f"{method} {target} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\n"
                           "Connection: close\r\n\r\n".encode())
        reply = b""
        while chunk := connection.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


#: Requests that would read the article, its folder's other files or the machine's.
_ESCAPES = ["/pokrovsk.md", "/secret.txt", "/../secret.txt", "/../../../../etc/passwd",
            "/%2e%2e/secret.txt", "/pages/..%2f..%2fsecret.txt", "/pages/../secret.txt",
            "/edition.html/../secret.txt", "/pages/1.png/../../pokrovsk.md", "//etc/passwd",
            "/pages/0.png", "/pages/-1.png", "/static/../secret.txt"]


def _refuses_escapes(address: tuple[str, int]) -> None:
    for target in _ESCAPES:
        status, body = _ask(address, target)
        assert status == 404, target
        assert b"SECRET" not in body and b"Pokrovsk" not in body and b"root:" not in body, target
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        assert _ask(address, "/edition.html", method)[0] == 405
    # A page elsewhere on the web cannot reach the loopback server by a name of its own.
    assert _ask(address, "/", host="attacker.example")[0] == 400
    assert _ask(address, "/", host="127.0.0.1.attacker.example")[0] == 400
    for name in ("localhost", "127.0.0.1", "[::1]"):  # the names of this machine, with a port
        assert _ask(address, "/", host=f"{name}:{address[1]}")[0] == 200, name


def test_serves_nothing_from_disk_and_changes_nothing(tmp_path: Path) -> None:
    import uvicorn

    from exporter.options import Options
    from exporter.preview import Preview, make_app

    shutil.copy(SEED, tmp_path / "pokrovsk.md")
    (tmp_path / "secret.txt").write_text("SECRET", encoding="utf-8")
    before = sorted(tmp_path.iterdir())
    app = make_app(Preview(tmp_path / "pokrovsk.md", Options), "127.0.0.1")
    # The real server, without the app's lifespan: nothing is built, nothing is watched.
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]})
        thread.start()
        try:
            _wait(lambda: server.started)
            address = listener.getsockname()
            assert _ask(address, "/")[0] == 200
            _refuses_escapes(address)
        finally:
            server.should_exit = True
            thread.join(10)
    assert sorted(tmp_path.iterdir()) == before


def test_bad_source_and_options_fail_before_serving(tmp_path: Path) -> None:
    missing = run_cli("preview", tmp_path / "missing.md", "--no-open")
    assert missing.exit_code == 4 and missing.stderr.startswith("Error: ")
    assert "missing.md: no such file" in missing.stderr
    folder = run_cli("preview", tmp_path, "--no-open")
    assert folder.exit_code == 4 and "is a folder" in folder.stderr
    style = run_cli("preview", SEED, "--no-open", "--style", "gothic")
    assert style.exit_code == 2 and "unknown style 'gothic'" in style.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = run_cli("preview", SEED, "--no-open", "--port", str(port))
    assert busy.exit_code == 2
    assert busy.stderr == f"Error: cannot serve on '127.0.0.1' port {port}: address already in use\n"
    assert "Traceback" not in busy.stderr


# The browser tests share one preview process and one page, in this order.


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The article with an image and a stylesheet, and a defaults file with build-only keys."""
    folder = tmp_path_factory.mktemp("preview")
    text = SEED.read_text(encoding="utf-8").replace(
        "\n## Russian Troops", "\n![A map of the front](map.png)\n\n## Russian Troops", 1)
    (folder / "pokrovsk.md").write_text(text, encoding="utf-8")
    Image.new("RGB", (400, 200), (30, 90, 160)).save(folder / "map.png")
    (folder / "extra.css").write_text("h1 { color: rgb(10, 20, 30); }\n", encoding="utf-8")
    (folder / "exporter.toml").write_text('page-size = "A5"\nformat = "epub"\noutput-dir = "out"\n',
                                          encoding="utf-8")
    (folder / "secret.txt").write_text("SECRET", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def server(folder: Path) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    """``exporter preview --no-open`` in its own process group; its address is read from stderr."""
    log = folder.parent / "preview-stderr.txt"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "exporter", "preview", "pokrovsk.md", "--no-open",
             "--style", "modern", "--style", "extra.css"],
            cwd=folder, stderr=stderr, stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not (found := re.search(r"at (http://127\.0\.0\.1:\d+/) ", log.read_text())):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        yield process, found.group(1), log
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def page(server: tuple[subprocess.Popen[bytes], str, Path]) -> Iterator[Any]:
    """A Chromium page on the preview (Debian's Chromium; Playwright downloads no browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        view = browser.new_page(viewport={"width": 1280, "height": 800})
        view.goto(server[1])
        yield view
        browser.close()


def _pages(page: Any) -> list[tuple[str, int, int]]:
    """Each PDF page shown: its address, and its image's size in pixels (0 until it loads)."""
    return page.eval_on_selector_all(
        "#pages img", "images => images.map(i => [i.getAttribute('src'), i.naturalWidth,"
                      " i.naturalHeight])")


def _edition_text(page: Any) -> str:
    return page.frame_locator("#edition").locator("body").inner_text()


def _wait(condition: Callable[[], Any], seconds: float = 20) -> float:
    """Seconds until *condition()* holds (it must, within *seconds*)."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, "the page did not catch up"
        time.sleep(0.02)
    return time.monotonic() - started


@pytest.mark.slow
def test_the_page_shows_the_article_and_its_pdf_pages(page: Any, folder: Path) -> None:
    _wait(lambda: TITLE in _edition_text(page) and _pages(page)
          and all(width for _src, width, _height in _pages(page)))
    edition = page.frame_locator("#edition")
    assert edition.locator("figure img").evaluate("image => image.naturalWidth") == 400
    # The options given: the modern style and the user's stylesheet; A5 from the defaults file.
    assert "Inter" in edition.locator("h1").evaluate("h => getComputedStyle(h).fontFamily")
    assert edition.locator("h1").evaluate("h => getComputedStyle(h).color") == "rgb(10, 20, 30)"
    shown = _pages(page)
    assert len(shown) >= 2
    for _src, width, height in shown:
        assert abs(height / width - 210 / 148) < 0.01  # A5, portrait
    captions = page.locator("#pages figcaption").all_inner_texts()
    assert captions == [str(number) for number in range(1, len(shown) + 1)]
    assert page.locator("#problems li").count() == 0


@pytest.mark.slow
def test_a_save_reaches_the_open_page_by_itself(page: Any, folder: Path) -> None:
    frame = page.frame_locator("#edition")
    window = "document.querySelector('#edition').contentWindow"
    page.evaluate(f"{window}.scrollTo(0, 600)")
    before = _pages(page)
    source = folder / "pokrovsk.md"
    source.write_text(source.read_text(encoding="utf-8").replace(
        "Russian forces pushed deeper", "Russian troops pushed deeper", 1),  # (as long)
        encoding="utf-8")
    html_seconds = _wait(lambda: "Russian troops pushed" in _edition_text(page))
    pdf_seconds = _wait(lambda: _pages(page)[0][0] != before[0][0] and _pages(page)[0][1])
    print(f"\nHTML edition shown {html_seconds:.2f} s after the save, its pages {pdf_seconds:.2f} s"
          " later")
    assert html_seconds < 2.5
    assert page.evaluate(f"{window}.scrollY") == 600
    assert frame.locator("h1").count() == 1  # replaced, not added to
    # Pages the change did not reach keep their address: they are not fetched again.
    after = _pages(page)
    assert len(after) == len(before) and after[-1][0] == before[-1][0]


@pytest.mark.slow
def test_what_the_build_reads_is_watched(page: Any, folder: Path) -> None:
    frame = page.frame_locator("#edition")
    Image.new("RGB", (300, 300), (160, 90, 30)).save(folder / "map.png")
    _wait(lambda: frame.locator("figure img").evaluate("image => image.naturalWidth") == 300)
    (folder / "extra.css").write_text("h1 { color: rgb(200, 0, 0); }\n", encoding="utf-8")
    _wait(lambda: frame.locator("h1").evaluate("h => getComputedStyle(h).color")
          == "rgb(200, 0, 0)")
    (folder / "exporter.toml").write_text('page-size = "A4"\n', encoding="utf-8")
    _wait(lambda: all(abs(height / width - 297 / 210) < 0.01 for _src, width, height
                      in _pages(page) if width))


@pytest.mark.slow
def test_a_broken_save_shows_the_error_and_a_good_save_clears_it(page: Any,
                                                                  folder: Path) -> None:
    source = folder / "pokrovsk.md"
    good = source.read_text(encoding="utf-8")
    source.write_text(good.replace("date: 2025-11-03", "date: [2025-11-03", 1), encoding="utf-8")
    problems = page.locator("#problems li.error")
    _wait(lambda: problems.count() == 1)
    message = problems.inner_text()
    assert re.match(r"Error: pokrovsk\.md:\d+: invalid YAML", message), message
    assert "Russian troops pushed" in _edition_text(page)  # the last good build stays in view
    source.write_text(good.replace("![A map of the front](map.png)", "![](map.png)"),
                      encoding="utf-8")  # a refused image
    line = good[:good.index("![A map")].count("\n") + 1
    _wait(lambda: problems.count() == 1 and "alt text" in problems.inner_text())
    assert problems.inner_text().startswith(f"Error: pokrovsk.md:{line}: image 'map.png' has no")
    source.write_text(good.replace("Russian troops pushed", "A fixed save pushed"), encoding="utf-8")
    _wait(lambda: "A fixed save pushed" in _edition_text(page) and problems.count() == 0)


@pytest.mark.slow
def test_the_server_refuses_paths_out_of_the_preview(
        server: tuple[subprocess.Popen[bytes], str, Path]) -> None:
    host, port = server[1].removeprefix("http://").rstrip("/").split(":")
    _refuses_escapes((host, int(port)))


@pytest.mark.slow
def test_ctrl_c_stops_the_server_and_leaves_nothing(
        page: Any, server: tuple[subprocess.Popen[bytes], str, Path], folder: Path) -> None:
    process, _address, log = server
    _wait(lambda: page.locator("#status").inner_text() == "Up to date")
    process.send_signal(signal.SIGINT)  # with the page's event stream still open
    assert process.wait(timeout=15) == 0
    assert log.read_text().rstrip().endswith("Stopped the preview.")
    group = [entry for entry in Path("/proc").iterdir() if entry.name.isdigit()
             and _process_group(entry) == process.pid]
    assert group == []
    # Nothing was written beside the article: no editions, no build records.
    assert sorted(path.name for path in folder.iterdir()) == [
        "exporter.toml", "extra.css", "map.png", "pokrovsk.md", "secret.txt"]


def _process_group(entry: Path) -> int | None:
    try:
        return int((entry / "stat").read_text().rsplit(")", 1)[1].split()[2])
    except (OSError, IndexError, ValueError):
        return None


@pytest.mark.slow
def test_the_page_opens_in_the_users_browser_and_ctrl_c_stops_a_build(tmp_path: Path) -> None:
    opened = tmp_path / "opened.txt"
    browser = (f"{sys.executable} -c \"import pathlib, sys; pathlib.Path(sys.argv[1])"
               f".write_text(sys.argv[2])\" {opened} %s")  # as webbrowser reads $BROWSER
    log = tmp_path / "stderr.txt"
    with log.open("wb") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "exporter", "preview", SEED],
                                   stderr=stderr, start_new_session=True, cwd=tmp_path,
                                   env={**os.environ, "BROWSER": browser})
    try:
        _wait(lambda: opened.exists() and opened.read_text())
        assert f"at {opened.read_text()} " in log.read_text()
        process.send_signal(signal.SIGINT)  # while the first build is under way, most likely
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    # (the $BROWSER stand-in, which has done its work, may take a moment to end)
    _wait(lambda: not [entry for entry in Path("/proc").iterdir() if entry.name.isdigit()
                       and _process_group(entry) == process.pid])


@pytest.mark.slow
def test_ctrl_c_does_not_wait_for_a_long_layout(tmp_path: Path) -> None:
    """A long article's PDF takes many seconds to lay out; Ctrl-C stops the preview at once."""
    article = tmp_path / "long.md"
    article.write_text(SEED.read_text(encoding="utf-8") + "\n\nA paragraph to lay out.\n" * 12000,
                       encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-m", "exporter", "preview", article, "--no-open"],
                               stderr=subprocess.PIPE, start_new_session=True, cwd=tmp_path)
    try:
        assert process.stderr is not None
        assert b"Previewing" in process.stderr.readline()
        time.sleep(3)  # (the HTML is shown; the pages are being laid out)
        process.send_signal(signal.SIGINT)
        started = time.monotonic()
        assert process.wait(timeout=60) == 0
        assert time.monotonic() - started < 5
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        process.stderr.close()  # type: ignore[union-attr]


def _status(address: str) -> dict[str, Any]:
    """What the page would be told now: the first event of the preview's event stream."""
    import json
    import urllib.request

    with urllib.request.urlopen(address + "events", timeout=10) as stream:
        for line in stream:
            if line.startswith(b"data:"):
                status: dict[str, Any] = json.loads(line[5:])
                return status
    raise AssertionError("no event")


@pytest.mark.slow
def test_the_preview_recovers_when_the_folder_comes_back(tmp_path: Path) -> None:
    """As after a `git checkout` or a sync that removes the article's folder and makes it anew."""
    folder = tmp_path / "pv"
    folder.mkdir()
    shutil.copy(SEED, folder / "a.md")
    process = subprocess.Popen([sys.executable, "-m", "exporter", "preview", "pv/a.md", "--no-open"],
                               stderr=subprocess.PIPE, start_new_session=True, cwd=tmp_path)
    try:
        assert process.stderr is not None
        address = re.search(r"(http://\S+)", process.stderr.readline().decode()).group(1)  # type: ignore[union-attr]
        _wait(lambda: not _status(address)["busy"])
        assert _status(address)["problems"] == []
        shutil.rmtree(folder)
        _wait(lambda: any("no such file" in p for p in _status(address)["problems"]))
        folder.mkdir()
        (folder / "a.md").write_text(SEED.read_text(encoding="utf-8") + "\nA line added.\n",
                                     encoding="utf-8")
        _wait(lambda: (lambda s: not s["problems"] and not s["busy"])(_status(address)))
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        process.stderr.close()  # type: ignore[union-attr]


@pytest.mark.slow
@pytest.mark.parametrize(("numbers", "status", "last"), [
    ([signal.SIGTERM], 143, "Error: stopped by SIGTERM; no partial output was left"),
    ([signal.SIGHUP], 129, "Error: stopped by SIGHUP; no partial output was left"),
    ([signal.SIGINT] * 3, 0, "Stopped the preview."),
    ([signal.SIGINT, signal.SIGHUP], 129, "Error: stopped by SIGHUP; no partial output was left")])
def test_a_kill_stops_the_preview_and_leaves_no_temporary_files(tmp_path: Path, numbers: list[int],
                                                                status: int, last: str) -> None:
    """SIGTERM (a supervisor) ends it with 143, SIGHUP (a closed terminal) with 129, Ctrl-C pressed
    again and again with 0; each way WeasyPrint's copies of the fonts go, which a process ended by
    the signal would leave, and one line says why (uvicorn's traceback came after a hang-up or a
    second Ctrl-C)."""
    shutil.copy(SEED, tmp_path / "a.md")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    process = subprocess.Popen([sys.executable, "-m", "exporter", "preview", "a.md", "--no-open"],
                               stderr=subprocess.PIPE, start_new_session=True, cwd=tmp_path,
                               env={**os.environ, "TMPDIR": str(scratch)})
    try:
        assert process.stderr is not None
        address = re.search(r"(http://\S+)", process.stderr.readline().decode()).group(1)  # type: ignore[union-attr]
        _wait(lambda: (lambda s: s["pages"] and not s["busy"])(_status(address)), 60)
        assert list(scratch.rglob("weasyprint-*"))  # (the fonts were copied: there is work to undo)
        for number in numbers:
            process.send_signal(number)
            time.sleep(0.05)
        assert process.wait(timeout=30) == status
        assert process.stderr.read().decode().splitlines() == [last]
        assert list(scratch.iterdir()) == []
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        process.stderr.close()  # type: ignore[union-attr]
