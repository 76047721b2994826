"""The cover painters: processes draw the bands of the cover a build ordered, byte for byte as it would."""

from __future__ import annotations

import contextlib
import io
import os
import resource
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from exporter import cover, painter
from exporter.cover import CoverText

TEXT = CoverText("The Battle for Pokrovsk", ("A. Reporter",), "3 November 2025",
                 "Russian forces push deeper into the ruined city.", "classic")
OTHER = CoverText("Another Article", (), None, None, "modern")


def _ended(pid: int, within: float = 30.0) -> int | None:
    """The exit status of child *pid* once it has ended, or None if it is still running."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    return None


def _wait_for_whole_messages(conn: socket.socket, count: int) -> None:
    """Until *count* whole messages have come on *conn*, without reading them."""
    deadline = time.monotonic() + 30
    while True:
        assert time.monotonic() < deadline, "the messages did not come"
        with contextlib.suppress(BlockingIOError):
            waiting = conn.recv(4 * 1024 * 1024, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            whole = 0
            while len(waiting) >= 8 and len(waiting) >= 8 + int.from_bytes(waiting[:8], "big"):
                waiting = waiting[8 + int.from_bytes(waiting[:8], "big"):]
                whole += 1
            if whole >= count:
                return
        time.sleep(0.02)


@pytest.fixture()
def helper() -> Iterator[painter.Painter]:
    """A painter installed for this process, ended and collected afterwards."""
    forked = painter.fork()
    painter.install(forked)
    yield forked
    painter.install(None)
    forked.conn.close()
    with contextlib.suppress(ChildProcessError):  # (collected by the test already)
        if _ended(forked.pid, within=10) is None:
            os.kill(forked.pid, signal.SIGKILL)
            os.waitpid(forked.pid, 0)


def _counting_bands_drawn_here(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    drawn: list[int] = []

    def draw(text: CoverText, band: int) -> bytes:
        drawn.append(band)
        return cover.draw_band(text, band)

    monkeypatch.setattr(painter, "draw_band", draw)
    return drawn


def test_a_cover_wanted_late_comes_whole_from_the_painter(
        helper: painter.Painter, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = cover.draw_cover(TEXT)
    assert painter.available()
    painter.order(TEXT)
    assert not painter.available()  # one cover per painter
    time.sleep(1.0)  # (a long article: the build is busy while the painter draws it all)
    drawn_here = _counting_bands_drawn_here(monkeypatch)
    assert painter.cover(TEXT) == expected
    assert drawn_here == []  # both bands came from the painter
    assert _ended(helper.pid) == 0  # its work done, it ends
    with Image.open(io.BytesIO(expected)) as image:
        assert image.format == "JPEG" and image.size == (cover.WIDTH, cover.HEIGHT)


def test_a_cover_wanted_early_is_shared_with_the_painter(
        helper: painter.Painter, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = cover.draw_cover(TEXT)
    painter.order(TEXT)
    drawn_here = _counting_bands_drawn_here(monkeypatch)
    # At once: the painter is still on the bottom band, so the build claims the top one.
    assert painter.cover(TEXT) == expected
    assert drawn_here == [0]
    assert _ended(helper.pid) == 0  # told the rest was claimed, it ends


def test_a_cover_other_than_the_one_ordered_is_drawn_here(helper: painter.Painter) -> None:
    painter.order(TEXT)
    assert painter.cover(OTHER) == cover.draw_cover(OTHER)


def test_without_a_painter_the_cover_is_drawn_here() -> None:
    painter.install(None)
    assert not painter.available()
    painter.order(TEXT)  # (nothing to order from: no effect)
    assert painter.cover(TEXT) == cover.draw_cover(TEXT)


def test_a_process_forked_from_the_owner_does_not_use_its_painter(helper: painter.Painter) -> None:
    helper.owner = os.getpid() + 1  # as a batch worker forked from the build would see it
    assert not painter.available()
    painter.order(TEXT)
    assert helper.ordered is None


def test_a_painter_that_dies_between_bands_leaves_the_rest_to_the_build(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def bottom_band_only(text: CoverText, band: int) -> bytes:
        if band < cover.BANDS - 1:
            time.sleep(60)  # (killed here)
        return cover.draw_band(text, band)

    monkeypatch.setattr(painter, "draw_band", bottom_band_only)
    forked = painter.fork()  # (a painter that stalls on the band above the bottom one)
    drawn_here = _counting_bands_drawn_here(monkeypatch)
    painter.install(forked)
    try:
        painter.order(TEXT)
        _wait_for_whole_messages(forked.conn, 2)  # (the layout and the bottom band, sent)
    finally:
        os.kill(forked.pid, signal.SIGKILL)
        os.waitpid(forked.pid, 0)
    assert painter.cover(TEXT) == cover.draw_cover(TEXT)
    assert drawn_here == [0]


def test_a_painter_that_died_before_the_order_leaves_the_cover_to_the_build(
        helper: painter.Painter, monkeypatch: pytest.MonkeyPatch) -> None:
    os.kill(helper.pid, signal.SIGKILL)
    assert _ended(helper.pid) == -signal.SIGKILL
    painter.order(TEXT)  # (the order may still fit in the socket's buffer)
    drawn_here = _counting_bands_drawn_here(monkeypatch)
    assert painter.cover(TEXT) == cover.draw_cover(TEXT)
    assert sorted(drawn_here) == [0, 1]


def test_a_painter_given_no_order_ends_when_its_build_ends() -> None:
    forked = painter.fork()
    forked.conn.close()  # what the build's process ending does
    assert _ended(forked.pid) == 0


def test_the_build_lays_out_the_bands_it_draws_with_the_painters_layout(
        monkeypatch: pytest.MonkeyPatch) -> None:
    expected = cover.draw_cover(TEXT)
    cover._layouts.clear()  # (drawing it here laid it out)

    def stalling(text: CoverText, band: int) -> bytes:
        time.sleep(60)  # (killed here: its layout sent, no band)
        return b""

    monkeypatch.setattr(painter, "draw_band", stalling)
    forked = painter.fork()
    monkeypatch.setattr(painter, "draw_band", cover.draw_band)
    painter.install(forked)
    try:
        painter.order(TEXT)
        _wait_for_whole_messages(forked.conn, 1)  # (the layout)
    finally:
        os.kill(forked.pid, signal.SIGKILL)
        os.waitpid(forked.pid, 0)

    def not_here(text: CoverText) -> cover.Layout:
        raise AssertionError("the cover was laid out again")

    monkeypatch.setattr(cover, "_lay_out", not_here)
    assert painter.cover(TEXT) == expected


def test_a_layout_passes_between_processes_as_a_literal() -> None:
    made = cover.layout(TEXT)
    assert cover.Layout.from_literal(made.to_literal()) == made
    with pytest.raises(ValueError, match="not a cover layout"):
        cover.Layout.from_literal("__import__('os').getcwd()")


def test_the_painter_keeps_to_the_cpus_priority_and_limits_of_the_build_that_orders() -> None:
    # In a child process of its own: niceness, once raised, may not be lowered again.
    child = os.fork()
    if child == 0:
        code = 1
        try:
            cpus = os.sched_getaffinity(0)
            nicer = min(os.getpriority(os.PRIO_PROCESS, 0) + 1, 19)
            memory = (4 << 30, resource.getrlimit(resource.RLIMIT_AS)[1])
            os.sched_setaffinity(0, {min(cpus)})  # (as a command under `taskset -c` gives)
            os.setpriority(os.PRIO_PROCESS, 0, nicer)  # (and `nice`)
            forked = painter.fork()
            painter.install(forked)
            resource.setrlimit(resource.RLIMIT_AS, memory)  # (and `ulimit -v`, after the fork)
            painter.order(TEXT)
            code = 0 if (os.sched_getaffinity(forked.pid) == {min(cpus)}
                         and os.getpriority(os.PRIO_PROCESS, forked.pid) == nicer
                         and resource.prlimit(forked.pid, resource.RLIMIT_AS) == memory
                         and painter.cover(TEXT) == cover.draw_cover(TEXT)) else 2
        finally:
            os._exit(code)
    assert _ended(child, within=60) == 0


def test_a_painter_drawing_a_cover_no_longer_wanted_is_let_go(helper: painter.Painter) -> None:
    long_text = CoverText("A title over two lines of the cover's large type", ("A. Writer",),
                          "3 November 2025", "A description that fills the cover's lines. " * 12)
    painter.order(long_text)
    painter.cover(OTHER)  # (the title came from the body, say: another cover)
    assert _ended(helper.pid) == 0  # not blocked sending what nobody reads


def test_a_cover_is_ordered_only_when_the_front_matter_names_the_title(tmp_path: Path) -> None:
    from exporter.document import front_matter_metadata
    from exporter.options import Options
    from exporter.source import read_source

    named, unnamed = tmp_path / "named.md", tmp_path / "unnamed.md"
    named.write_text("---\ntitle: Named\n---\n# Heading\n\nText.\n", encoding="utf-8")
    unnamed.write_text("---\nlang: en\n---\n# Heading Title\n\nText.\n", encoding="utf-8")
    found = front_matter_metadata(read_source(named, Options()))
    assert found is not None and found.title == "Named"
    # (The body's first heading gives this one its title: the cover is not known yet.)
    assert front_matter_metadata(read_source(unnamed, Options())) is None
