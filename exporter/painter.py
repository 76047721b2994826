"""A second process that draws a served build's cover while the build goes on.

Drawing the cover (type up to 150 px, then a 4-megapixel JPEG) costs more than
the rest of an EPUB-only build, and it depends on the front matter alone, so it
need not wait for the Markdown.  A spare of the build server (see
:mod:`exporter.served`) forks a painter before it warms up; its build orders
the cover as soon as the front matter is read (:func:`order`), and the EPUB
edition collects it (:func:`cover`).  Anywhere else, or for any cover but the
one ordered, :func:`cover` draws it in the calling process.  The bytes are the
same either way: both run :func:`~exporter.cover.draw_cover`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import socket
from collections.abc import Iterable

from .cover import CoverText, draw_cover

#: Largest message either side accepts (a cover is about 250 KB).
_LIMIT = 64 * 1024 * 1024
#: What the painter draws while it warms up, in the faces a spare warms up with.
_WARM_TEXT = CoverText("Warm-up title", ("A. Writer",), "1 January 2000",
                       "A description long enough to wrap onto a second line of the cover.")


class Painter:
    """The ordering end of a painter process, for one cover ordered and collected once."""

    def __init__(self, pid: int, conn: socket.socket):
        self.pid, self.conn = pid, conn
        #: The process that may order: not a worker forked from it later.
        self.owner = os.getpid()
        self.ordered: CoverText | None = None


#: The painter this process's builds may order from (a served build's only).
_current: Painter | None = None


def fork(keep_out: Iterable[socket.socket] = ()) -> Painter:
    """Fork a painter, which closes *keep_out*, warms up, then draws the one cover it is sent.

    It ends when it has sent that cover, or when this end is closed (this process
    ended without ordering one).  OSError if no process can be forked.
    """
    ours, theirs = socket.socketpair()
    try:
        pid = os.fork()
    except OSError:
        ours.close()
        theirs.close()
        raise
    if pid == 0:
        code = 1
        try:
            ours.close()
            for sock in keep_out:
                sock.close()
            _paint(theirs)
            code = 0
        finally:
            os._exit(code)  # never back into the forking process's code
    theirs.close()
    return Painter(pid, ours)


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
    if painter is None or not available():
        return
    try:
        _send(painter.conn, repr(dataclasses.astuple(text)).encode("utf-8"))
    except OSError:  # the painter is gone: covers are drawn here
        install(None)
        return
    painter.ordered = text


def cover(text: CoverText) -> bytes:
    """The cover of *text* as JPEG bytes: the painter's if it was ordered, else drawn here."""
    painter = _current
    if painter is not None and painter.ordered == text and painter.owner == os.getpid():
        install(None)  # one cover per painter
        try:
            data = _receive(painter.conn)
        except (OSError, ValueError):
            data = None
        finally:
            painter.conn.close()
        if data:
            return data
        # (The painter failed: drawing here reports whatever made it fail.)
    return draw_cover(text)


def _paint(conn: socket.socket) -> None:
    """The painter's life: warm up, take one order, send the JPEG back."""
    import ast

    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, signal.SIG_DFL)  # stopped with its build's process group
    # The pages it writes while drawing (fonts, canvas, the interpreter's own) are then
    # copied from the forking process now, not while a build waits.
    draw_cover(_WARM_TEXT)
    message = _receive(conn)
    if message is None:
        return  # no order: the build needed no cover
    text = CoverText(*ast.literal_eval(message.decode("utf-8")))
    with contextlib.suppress(OSError):  # (the build may have ended without collecting it)
        _send(conn, draw_cover(text))


def _send(conn: socket.socket, data: bytes) -> None:
    conn.sendall(len(data).to_bytes(8, "big") + data)


def _receive(conn: socket.socket) -> bytes | None:
    """One message :func:`_send` sent; None if the other end closed before sending any."""
    data = bytearray()
    while len(data) < 8:
        chunk = conn.recv(8 - len(data))
        if not chunk:
            if data:
                raise ValueError("message cut short")
            return None
        data += chunk
    length = int.from_bytes(data, "big")
    if length > _LIMIT:
        raise ValueError("message too large")
    body = bytearray()
    while len(body) < length:
        chunk = conn.recv(min(length - len(body), 1024 * 1024))
        if not chunk:
            raise ValueError("message cut short")
        body += chunk
    return bytes(body)
