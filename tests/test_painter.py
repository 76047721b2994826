"""The cover painter: a second process draws the cover a build ordered, byte for byte as it would."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import time
from collections.abc import Iterator

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


def test_the_painter_draws_the_ordered_cover(helper: painter.Painter,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    expected = cover.draw_cover(TEXT)
    assert painter.available()
    painter.order(TEXT)
    assert not painter.available()  # one cover per painter
    # Nothing is drawn in this process: the bytes can only come from the painter.
    monkeypatch.setattr(painter, "draw_cover", _no_drawing_here)
    assert painter.cover(TEXT) == expected
    assert _ended(helper.pid) == 0  # its work done, it ends
    with Image.open(io.BytesIO(expected)) as image:
        assert image.format == "JPEG" and image.size == (cover.WIDTH, cover.HEIGHT)


def test_a_cover_other_than_the_one_ordered_is_drawn_here(helper: painter.Painter) -> None:
    painter.order(TEXT)
    assert painter.cover(OTHER) == cover.draw_cover(OTHER)


def test_without_a_painter_the_cover_is_drawn_here(monkeypatch: pytest.MonkeyPatch) -> None:
    painter.install(None)
    assert not painter.available()
    painter.order(TEXT)  # (nothing to order from: no effect)
    assert painter.cover(TEXT) == cover.draw_cover(TEXT)


def test_a_process_forked_from_the_owner_does_not_use_its_painter(helper: painter.Painter) -> None:
    helper.owner = os.getpid() + 1  # as a batch worker forked from the build would see it
    assert not painter.available()
    painter.order(TEXT)
    assert helper.ordered is None


def test_a_painter_that_died_leaves_the_cover_to_the_build(helper: painter.Painter) -> None:
    os.kill(helper.pid, signal.SIGKILL)
    assert _ended(helper.pid) == -signal.SIGKILL
    painter.order(TEXT)  # (the order may still fit in the socket's buffer)
    assert painter.cover(TEXT) == cover.draw_cover(TEXT)


def test_a_painter_given_no_order_ends_when_its_build_ends() -> None:
    forked = painter.fork()
    forked.conn.close()  # what the build's process ending does
    assert _ended(forked.pid) == 0


def _no_drawing_here(text: CoverText) -> bytes:
    raise AssertionError("the cover was drawn in the ordering process")
