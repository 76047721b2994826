"""A second process that draws a served build's cover while the build goes on.

Drawing the cover (type up to 150 px, then a 4-megapixel JPEG) costs more than
the rest of an EPUB-only build, and it depends on the front matter alone, so it
need not wait for the Markdown.  A spare of the build server (see
:mod:`exporter.served`) forks a painter before it warms up.  Its build orders
the cover as soon as the front matter is read (:func:`order`); the painter
draws the cover's bands (:data:`~exporter.cover.BANDS`) from the bottom up and
sends each as it is done.  When the EPUB edition needs the cover
(:func:`cover_pieces`), the build claims the bands above the one the painter is
drawing and draws them itself, so the two processes share the work on a short
article, and on a long one the painter has finished before it is needed.
Anywhere else, or for any cover but the one ordered, the bands are drawn in the
calling process.  The bytes are the same either way: all of them come from
:func:`~exporter.cover.draw_band`, and the joined bands are the same JPEG
wherever they split.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import socket
from collections.abc import Iterable, Iterator
from typing import Literal

from .cover import BANDS, HEIGHT, CoverText, Layout, draw_band, layout, remember_layout, warm_up
from .jpeg_bands import join_bands
from .wire import fork_with_channel

#: Largest message either side accepts (a cover is about 250 KB).
_LIMIT = 64 * 1024 * 1024
#: The first byte of the painter's first message, its layout of the cover (bands: their number).
_LAYOUT = 255


class Painter:
    """The ordering end of a painter process: one cover ordered, and collected once."""

    def __init__(self, pid: int, conn: socket.socket):
        self.pid, self.conn = pid, conn
        #: The process that may order: not a worker forked from it later.
        self.owner = os.getpid()
        self.ordered: CoverText | None = None


#: The painter this process's builds may order from (a served build's only).
_current: Painter | None = None


def fork(keep_out: Iterable[socket.socket] = ()) -> Painter:
    """Fork a painter, which closes *keep_out*, warms up, then draws the one cover it is sent.

    It ends when it has sent that cover's bands or been told the rest are claimed, or
    when this end is closed (this process ended without ordering a cover).  OSError if
    no process can be forked.
    """
    pid, conn = fork_with_channel()
    if pid == 0:
        code = 1
        try:
            for sock in keep_out:
                sock.close()
            _paint(conn)
            code = 0
        finally:
            os._exit(code)  # never back into the forking process's code
    return Painter(pid, conn)


def install(painter: Painter | None) -> None:
    """Let this process's builds order their cover from *painter* (None: draw them here)."""
    global _current
    _current = painter


def available() -> bool:
    """Whether :func:`order` would reach a painter that is free."""
    painter = _current
    return painter is not None and painter.ordered is None and painter.owner == os.getpid()


def order(text: CoverText) -> None:
    """Have the cover of *text* drawn alongside, if a painter is free; else do nothing."""
    painter = _current
    if painter is None or not available():  # (None checked again for the type checker)
        return
    _share_limits(painter.pid)
    try:
        _send(painter.conn, repr(dataclasses.astuple(text)).encode("utf-8"))
    except OSError:  # the painter is gone: covers are drawn here
        install(None)
        return
    painter.ordered = text


def _share_limits(pid: int) -> None:
    """Give process *pid* this process's CPUs, priority and memory and CPU-time limits (a
    build's, taken from its command).

    The painter was forked before the command came: a build run under ``taskset``,
    ``nice`` or ``ulimit`` keeps its cover to them as well.
    """
    import resource

    if hasattr(os, "sched_setaffinity"):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(pid, os.sched_getaffinity(0))
    with contextlib.suppress(OSError):  # (only ever up: the painter has the server's)
        os.setpriority(os.PRIO_PROCESS, pid, os.getpriority(os.PRIO_PROCESS, 0))
    for name in ("RLIMIT_AS", "RLIMIT_DATA", "RLIMIT_CPU"):  # (memory and CPU time)
        if hasattr(resource, name) and hasattr(resource, "prlimit"):
            with contextlib.suppress(OSError, ValueError):
                number = getattr(resource, name)
                resource.prlimit(pid, number, resource.getrlimit(number))


def cover(text: CoverText) -> bytes:
    """The cover of *text* as JPEG bytes; see :func:`cover_pieces`."""
    return b"".join(cover_pieces(text))


def cover_pieces(text: CoverText) -> Iterator[bytes]:
    """The cover of *text* as JPEG bytes, in pieces, the painter's bands as they come.

    The painter draws from the bottom band up; the bands above the one it is drawing
    are claimed and drawn here, top first, so that they are being written into the
    EPUB while the painter finishes.  A band the painter fails to send is drawn here too.
    """
    painter = _current
    mine = painter is not None and painter.owner == os.getpid()
    if painter is None or not mine or painter.ordered != text:
        if mine and painter is not None and painter.ordered is not None:
            install(None)  # another cover was ordered: let the painter go, unheard
            painter.conn.close()
        return join_bands((draw_band(text, band) for band in range(BANDS)), HEIGHT)
    install(None)  # one cover per painter
    sent = _Bands(painter.conn, text)
    # The painter is drawing the lowest band it has not sent; the ones above are ours.
    ours = BANDS - 1 - sent.ready()
    if ours > 0:
        with contextlib.suppress(OSError):  # (gone: it draws nothing more anyway)
            _send(painter.conn, bytes([ours - 1]))
    here = {band: draw_band(text, band) for band in range(ours)}
    return join_bands((here[band] if band in here else sent.band(band) or draw_band(text, band)
                       for band in range(BANDS)), HEIGHT)


class _Bands:
    """What a painter sends: its layout of the cover (``[255] + literal``), then the bands
    from the bottom up, each as ``[its number] + JPEG``.

    The layout is kept for the bands drawn here, so that it is not made twice.
    """

    def __init__(self, conn: socket.socket, text: CoverText):
        self.conn, self.text = conn, text
        self.bands: dict[int, bytes] = {}

    def ready(self) -> int:
        """How many bands have come already (without waiting for more)."""
        try:
            while len(self.bands) < BANDS and self._take(_poll(self.conn)):
                pass
        except (OSError, ValueError):
            self.conn.close()
        return len(self.bands)

    def band(self, number: int) -> bytes | None:
        """Band *number*, waiting for it; None if the painter failed before sending it.

        The connection is closed once the painter has nothing more to send.
        """
        try:
            while number not in self.bands and self._take(_receive(self.conn)):
                pass
        except (OSError, ValueError):
            pass
        if number == BANDS - 1 or number not in self.bands:
            self.conn.close()  # (its last band, or it failed)
        return self.bands.get(number)

    def _take(self, message: bytes | Literal[False] | None) -> bool:
        """Keep *message* if it is the next band up; whether to read on."""
        if message is False:
            return False  # none has come yet
        if message and message[0] == _LAYOUT:
            remember_layout(self.text, Layout.from_literal(message[1:].decode("utf-8")))
            return True
        if not message or message[0] != BANDS - 1 - len(self.bands):
            raise ValueError("the painter stopped, or sent something else")
        self.bands[message[0]] = message[1:]
        return True


def _paint(conn: socket.socket) -> None:
    """The painter's life: warm up, take one order, send bands from the bottom up until the
    rest are claimed."""
    import ast

    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, signal.SIG_DFL)  # stopped with its build's process group
    # The pages it writes while drawing (fonts, canvas, the interpreter's own) are then
    # copied from the forking process now, not while a build waits.
    for band in range(BANDS):
        warm_up(band)
    message = _receive(conn)
    if message is None:
        return  # no order: the build needed no cover
    text = CoverText(*ast.literal_eval(message.decode("utf-8")))
    with contextlib.suppress(OSError):  # (the build may have ended)
        _send(conn, bytes([_LAYOUT]) + layout(text).to_literal().encode("utf-8"))
    claimed = -1  # the last band claimed, counting from the top: it and all above it
    for band in reversed(range(BANDS)):
        if band < BANDS - 1:
            claimed = max(claimed, _claim(conn))
        if band <= claimed:
            return
        with contextlib.suppress(OSError):  # (the build may have ended without collecting it)
            _send(conn, bytes([band]) + draw_band(text, band))


def _claim(conn: socket.socket) -> int:
    """The last band the build has claimed, counting from the top, without waiting: -1 for
    none yet, every band if the build has gone."""
    try:
        message = _poll(conn)
    except (OSError, ValueError):
        return BANDS
    if message is False:
        return -1
    return message[0] if message else BANDS


def _send(conn: socket.socket, data: bytes) -> None:
    conn.sendall(len(data).to_bytes(8, "big") + data)


def _receive(conn: socket.socket) -> bytes | None:
    """One message :func:`_send` sent; None if the other end closed before sending any."""
    head = conn.recv(8)
    return _rest(conn, head) if head else None


def _poll(conn: socket.socket) -> bytes | Literal[False] | None:
    """As :func:`_receive` if a message has begun to come (read to its end); else False."""
    conn.setblocking(False)
    try:
        head = conn.recv(8)
    except (BlockingIOError, InterruptedError):
        return False
    finally:
        conn.setblocking(True)
    return _rest(conn, head) if head else None


def _rest(conn: socket.socket, head: bytes) -> bytes:
    """The message whose first bytes of length are *head*, read to its end."""
    while len(head) < 8:
        chunk = conn.recv(8 - len(head))
        if not chunk:
            raise ValueError("message cut short")
        head += chunk
    length = int.from_bytes(head, "big")
    if length > _LIMIT:
        raise ValueError("message too large")
    body = bytearray()
    while len(body) < length:
        chunk = conn.recv(min(length - len(body), 1024 * 1024))
        if not chunk:
            raise ValueError("message cut short")
        body += chunk
    return bytes(body)
