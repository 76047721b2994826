"""``exporter preview``: a live page of one article's HTML edition beside its PDF's pages."""

from __future__ import annotations

import signal
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import HUNG_UP, KILLED, SourceError, UsageProblem, reason
from ..options import Options
from .build_command import (
    WithDefaults,
    edition_options,
    make_options,
    own_defaults,
    read_defaults,
)
from .reporting import Stopped, kill_unwinds, reporting

if TYPE_CHECKING:
    import socket


@click.command("preview", cls=WithDefaults)
@click.argument("source", type=click.Path(path_type=Path))
@edition_options
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to serve on; any but loopback lets other machines read the preview.")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port to serve on (0: any free port).")
@click.option("--open/--no-open", "open_browser", default=True, show_default=True,
              help="Open the page in the web browser.")
def preview_command(source: Path, host: str, port: int, open_browser: bool, **_: object) -> None:
    """Serve a live page of SOURCE: its HTML edition beside its PDF's pages, made again on
    every save of the article or of a file its build reads. Ctrl-C stops it.

    The page is served on loopback only unless --host says otherwise; its address is
    printed on standard error.
    """
    with reporting():
        if not source.is_file():
            raise SourceError("is a folder; preview one article" if source.is_dir()
                              else "no such file", path=source)
        args = click.get_current_context().meta["exporter.args"]
        defaults = read_defaults()
        told = set(defaults.ignored)  # (said as the command began: each warning of the file once)
        _settings(args, told)  # a bad option stops here, with its exit status
        import threading
        import webbrowser

        import uvicorn

        from ..preview import Preview, is_loopback, make_app, serve

        listener = _listen(host, port)
        if not is_loopback(host):
            click.echo(f"Warning: serving beyond this machine: whoever reaches {host} can read "
                       "the preview", err=True)
        preview = Preview(source, lambda: _settings(args, told), [defaults.path] if defaults.path else [])
        bound = listener.getsockname()[0]
        url = f"http://{f'[{bound}]' if ':' in bound else bound}:{listener.getsockname()[1]}/"
        config = uvicorn.Config(make_app(preview, host), lifespan="off", log_level="warning",
                                timeout_graceful_shutdown=2)
        click.echo(f"Previewing {source} at {url} (Ctrl-C stops)", err=True)
        if open_browser:  # (a browser can take a while to start: the server does not wait)
            threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
        server, received = uvicorn.Server(config), list[int]()

        def stop(signum: int, frame: Any) -> None:  # (uvicorn's handlers replace it while it serves)
            received.append(signum)
            server.handle_exit(signum, frame)

        # WeasyPrint's copies of the fonts go in a folder removed as the preview ends. Any signal
        # stops the server, which then raises uvicorn's again: a kill outranks a hang-up, which
        # outranks Ctrl-C (status 0).
        with kill_unwinds(), tempfile.TemporaryDirectory(prefix="exporter-",
                                                          ignore_cleanup_errors=True) as scratch:
            tempfile.tempdir = scratch
            numbers = [signal.SIGINT, signal.SIGTERM, *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])]
            previous = {number: signal.signal(number, stop) for number in numbers}
            try:
                serve(server, preview, [listener])
            finally:  # (once one came, the others stay ignored, as in kill_unwinds)
                for number, handler in previous.items():
                    signal.signal(number, signal.SIG_IGN if received else handler)
                tempfile.tempdir = None
            if signal.SIGTERM in received:
                raise Stopped("SIGTERM", KILLED)
            if hasattr(signal, "SIGHUP") and signal.SIGHUP in received:
                raise Stopped("SIGHUP", HUNG_UP)
        click.echo("Stopped the preview.", err=True)


def _settings(args: list[str], told: set[str]) -> Options:
    """The options as the command line and the defaults file give them now (the file may change)."""
    try:
        context = preview_command.make_context("preview", list(args),
                                               default_map=own_defaults(preview_command, told))
    except click.ClickException as error:
        raise UsageProblem(error.format_message()) from None
    given = context.params
    return make_options(("html", "pdf"), given["styles"], given["page_size"], given["margins"],
                        given["edition"], False, given["toc"])


def _listen(host: str, port: int) -> socket.socket:
    """A socket listening on *host* and *port* (0: any free port)."""
    import socket

    try:
        family, kind, protocol, _name, address = socket.getaddrinfo(host, port,
                                                                    type=socket.SOCK_STREAM)[0]
        listener = socket.socket(family, kind, protocol)
    except OSError as error:
        raise UsageProblem(f"cannot serve on {host!r}: {reason(error)}") from None
    try:  # (not socket.create_server, whose errors repeat the address in Python's words)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen()
    except OSError as error:
        listener.close()
        raise UsageProblem(f"cannot serve on {host!r} port {port}: {reason(error)}") from None
    return listener
