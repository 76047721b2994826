"""The live preview: an article's HTML edition beside its PDF pages, made again on every save.

The latest editions are kept in memory and served by Starlette, with server-sent events saying what
changed; nothing is written or served from disk."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import hashlib
import html
import ipaddress
import json
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from .archive import stylesheet_inputs
from .book import Book, single_book
from .document import build_document
from .errors import Diagnostic, ExporterError
from .options import Options
from .pipeline import render_editions
from .proof import page_images
from .session import Session
from .source import read_source

#: Resolution of the page images: a page as wide as it is on a screen at 100 %.
PAGE_DPI = 96
_PAGE = Path(__file__).with_name("preview.html")


@dataclasses.dataclass(frozen=True)
class Shown:
    """What the page shows: the last HTML edition and pages made, and the last build's messages."""

    html: bytes = b""
    pages: tuple[tuple[bytes, int, int], ...] = ()
    problems: tuple[str, ...] = ()
    busy: bool = True

    def status(self) -> dict[str, Any]:
        """What the page needs to know to catch up (digests name the HTML and each page)."""
        return {"html": _digest(self.html) if self.html else "", "problems": self.problems,
                "pages": [[_digest(png), width, height] for png, width, height in self.pages],
                "busy": self.busy}


class Preview:
    """One article's latest editions, made with *settings()* whenever a file it read, or one of
    *also* (a defaults file), changes."""

    def __init__(self, source: Path, settings: Callable[[], Options], also: Sequence[Path] = ()):
        self.source, self.settings = source, settings
        self.base = {path.resolve() for path in (source, *also)}
        #: The files the last build read or looked for; while it fails, the article's whole folder.
        self.watched = set(self.base)
        self.broken = False
        self.shown = Shown()
        self.changed = asyncio.Event()
        self.session = Session()

    def _show(self, **changes: Any) -> None:
        self.shown = dataclasses.replace(self.shown, **changes)
        self.changed.set()
        self.changed = asyncio.Event()

    async def rebuild(self) -> None:
        """Make the HTML edition, show it, then the PDF's pages; on failure, show why."""
        self._show(busy=True)
        try:
            book, options, editions, warnings = await _in_thread(self._html)
            self._show(html=editions["html"], problems=_messages(warnings))
            editions, warnings = await _in_thread(
                render_editions, book, options.with_changes(formats=("pdf",)), self.session)
            pages = await _in_thread(lambda: tuple(page_images(editions["pdf"], PAGE_DPI)))
            self._show(pages=pages, problems=_messages(warnings), busy=False)
            self.broken = False
        except Exception as error:  # (a fault of the tool too is shown, and the preview goes on)
            self.broken = True
            message = error if isinstance(error, ExporterError) else \
                f"internal error: {type(error).__name__}: {error}"
            self._show(problems=(f"Error: {message}",), busy=False)

    def _html(self) -> tuple[Book, Options, dict[str, bytes], tuple[Diagnostic, ...]]:
        options = self.settings()
        self.watched |= {path.resolve() for path in options.user_stylesheets}
        styles = stylesheet_inputs(options).values()
        book = single_book(build_document(read_source(self.source, options), options))
        images = {self.source.parent / name for name in book.articles[0].inputs}
        self.watched = self.base | {path.resolve() for path in (*styles, *images)}
        return (book, options,
                *render_editions(book, options.with_changes(formats=("html",)), self.session))

    async def follow(self, stop: asyncio.Event) -> None:
        """Build now, and again on every save of what the last build read, until *stop* is set."""
        from watchfiles import awatch

        await self.rebuild()
        while not stop.is_set():
            folders = {_nearest_folder(path) for path in self.watched}
            # A broken build is made again once its folders are watched (at the first change or
            # after a second), in case a file came back just before they were.
            catch_up = self.broken
            async for changes in awatch(*folders, stop_event=stop, watch_filter=None, recursive=False,
                                        step=50, rust_timeout=1000 if catch_up else None,
                                        yield_on_timeout=catch_up):
                paths = {Path(name) for _change, name in changes}
                home = self.source.resolve().parent
                if catch_up or paths & self.watched or (self.broken and any(
                        (path.parent == home or home.is_relative_to(path))
                        and not path.name.startswith(".") for path in paths)):
                    catch_up = False
                    await self.rebuild()
                    if folders != {_nearest_folder(path) for path in self.watched}:
                        break


def make_app(preview: Preview, host: str) -> Any:
    """The preview's web application: the page, its edition and page images, and its events."""
    from sse_starlette import EventSourceResponse

    async def page(request: Request) -> Response:
        name = html.escape(preview.source.name)
        return HTMLResponse(_PAGE.read_text(encoding="utf-8").replace("{{name}}", name))

    async def edition(request: Request) -> Response:
        # Served as a sandbox: no script runs in it, even when opened by itself.
        return Response(preview.shown.html, media_type="text/html",
                        headers={"Content-Security-Policy": "sandbox allow-same-origin"})

    async def page_image(request: Request) -> Response:
        number, pages = request.path_params["number"], preview.shown.pages
        if not 1 <= number <= len(pages):
            return Response("No such page", status_code=404)
        return Response(pages[number - 1][0], media_type="image/png")

    async def events(request: Request) -> Response:
        async def stream() -> AsyncIterator[dict[str, str]]:
            while True:
                changed = preview.changed
                yield {"data": json.dumps(preview.shown.status())}
                await changed.wait()

        return EventSourceResponse(stream())

    routes = [Route("/", page), Route("/edition.html", edition), Route("/events", events),
              Route("/pages/{number:int}.png", page_image)]
    app = Starlette(routes=routes)
    return _loopback_names_only(app) if is_loopback(host) else app


def serve(server: Any, preview: Preview, sockets: list[Any]) -> None:
    """Run the uvicorn *server* on *sockets* until it stops, making *preview* again on every save
    meanwhile (beside the server, not in its lifespan, which a second Ctrl-C cuts short)."""

    async def main() -> None:
        stop = asyncio.Event()
        following = asyncio.create_task(preview.follow(stop))
        try:
            await server.serve(sockets=sockets)
        finally:
            stop.set()
            following.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await following

    asyncio.run(main())


def _loopback_names_only(app: Any) -> Any:
    """*app*, answering only requests whose ``Host`` names this machine, so that no web page can
    reach a loopback server by DNS rebinding (Starlette's own check cannot read ``[::1]:PORT``)."""

    async def guarded(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
            try:
                name = urlsplit(f"//{host}").hostname or ""
            except ValueError:
                name = ""
            if not is_loopback(name):
                return await PlainTextResponse("Invalid host header", 400)(scope, receive, send)
        await app(scope, receive, send)

    return guarded


def is_loopback(host: str) -> bool:
    """Whether *host* names this machine only (``localhost``, ``127.0.0.1``, ``::1``)."""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


T = TypeVar("T")


async def _in_thread(function: Callable[..., T], *args: Any) -> T:
    """*function* run in a daemon thread: Ctrl-C ends the preview without waiting for a layout."""
    future: concurrent.futures.Future[T] = concurrent.futures.Future()
    future.set_running_or_notify_cancel()  # (so that a cancelled wait leaves it be)

    def run() -> None:
        try:
            future.set_result(function(*args))
        except BaseException as error:  # (handed to the awaiting task, which shows it)
            future.set_exception(error)

    threading.Thread(target=run, name="exporter-preview", daemon=True).start()
    return await asyncio.wrap_future(future)


def _nearest_folder(path: Path) -> Path:
    """The folder of *path*, or its nearest ancestor that exists (while the folder is gone)."""
    return next(folder for folder in path.parents if folder.is_dir())


def _messages(warnings: Sequence[Diagnostic]) -> tuple[str, ...]:
    return tuple(f"{warning.severity.capitalize()}: {warning}" for warning in warnings)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]
