"""The ``exporter`` command's entry point: hand a build to a warm build server, or run it here.

Starting Python and importing WeasyPrint costs more than rendering an article,
so ``exporter build`` first looks for a build server of this same installation
(see :mod:`exporter.server`).  When one is listening, the command passes it
its arguments, working folder, environment and its own standard streams
(as file descriptors), and waits for the exit status: the build runs in a
fresh fork of an interpreter that has everything imported already, and
writes to the terminal, pipes and files exactly as an in-process build
would.  When none is listening, the build runs in this process and a server
is started in the background for the next command.

Only standard-library modules that start quickly are imported here; Click
and the pipeline are imported only when the build runs in this process.
``EXPORTER_SERVER=off`` turns the server off (no use, no start).
"""

from __future__ import annotations

import os
import stat
import sys

TYPE_CHECKING = False  # (typing's, without importing typing at every start)
if TYPE_CHECKING:
    from collections.abc import Iterator
    from hashlib import sha256 as sha256
else:
    # The interpreter's own small SHA-256, where it has one: hashlib would load OpenSSL
    # first, about 3 ms at every start, for the few kilobytes hashed here.
    try:
        from _sha2 import sha256  # Python 3.12 and later
    except ImportError:
        try:
            from _sha256 import sha256
        except ImportError:
            from hashlib import sha256

#: Environment variable that turns the build server off (``off``, ``0``, ``no``, ``false``).
SWITCH = "EXPORTER_SERVER"
#: Seconds an idle server waits for work before it exits (environment: ``EXPORTER_SERVER_IDLE``).
IDLE_SECONDS = 600.0
_OFF = {"0", "off", "no", "false"}
_PACKAGE = os.path.dirname(os.path.abspath(__file__))
#: Commands handed to the server: only ``build`` gains from a warm interpreter.
_SERVED = {"build"}


def main() -> None:
    """Run ``exporter`` with the process's arguments (the console script)."""
    argv = sys.argv[1:]
    tool: str | None = None
    if quick_start_possible(argv, os.environ):
        from .memo import replay

        tool = fingerprint()  # once: both the record and the server's name depend on it
        lines = replay(argv, tool)
        if lines is not None:  # an identical command, and nothing it depends on has changed
            print("\n".join(lines), file=sys.stderr)
            leave(0)
        address = server_address(tool=tool) if server_enabled(os.environ) else None
        if address is not None:
            from .client import run_on_server

            status = run_on_server(address, argv)
            if status is not None:
                leave(status)
            if not os.environ.get("CI"):  # no process left behind on a CI runner
                start_server(address)
    tune_collector()
    from .cli import main as run_here

    run_here(argv, tool)


def leave(status: int) -> None:
    """End the command with *status* once its own output is flushed, skipping interpreter shutdown.

    Only for the paths where this process did nothing but pass a build on (or replay
    one): it holds no files, threads or child processes, so tearing down its modules,
    about 5 ms, would only delay the shell's prompt.
    """
    for stream in (sys.stdout, sys.stderr):
        try:  # noqa: SIM105  (contextlib would cost the command about 3 ms to import)
            stream.flush()
        except Exception:  # (a closed or broken pipe: nothing more to say)
            pass
    os._exit(status)


def tune_collector() -> None:
    """Collect cycles less often while rendering, for processes that only build.

    Laying out a page allocates hundreds of thousands of short-lived objects; with
    Python's default threshold (700) the collector runs thousands of times per
    article, for about 5 % of the time, and frees little: most objects die by
    reference counting.  Used by the command, the build server and batch workers.
    """
    import gc

    gc.set_threshold(20_000, 20, 20)


def quick_start_possible(argv: list[str], environ: os._Environ[str] | dict[str, str]) -> bool:
    """Whether this command line is a ``build`` that is not ``--watch``, ``--help`` or completion."""
    if any(name.startswith("_EXPORTER_COMPLETE") for name in environ):
        return False
    if not argv or argv[0] not in _SERVED:
        return False
    return "--watch" not in argv and "--help" not in argv and "-h" not in argv


def server_enabled(environ: os._Environ[str] | dict[str, str]) -> bool:
    """Whether the build server may be used and started (``EXPORTER_SERVER`` is not ``off``)."""
    return environ.get(SWITCH, "").strip().lower() not in _OFF


# --------------------------------------------------------------------------- where the server listens


class Address:
    """The socket and lock file of the server for this installation, in a private folder."""

    def __init__(self, folder: str, fingerprint: str):
        self.folder = folder
        self.fingerprint = fingerprint
        self.socket = os.path.join(folder, f"{fingerprint[:24]}.sock")
        self.lock = os.path.join(folder, f"{fingerprint[:24]}.lock")


def server_address(environ: os._Environ[str] | dict[str, str] | None = None,
                   tool: str | None = None) -> Address | None:
    """Where this installation's server listens; None when no private folder can be had.

    *tool* is this installation's :func:`fingerprint`, if the caller has it already.
    """
    environ = os.environ if environ is None else environ
    runtime = environ.get("XDG_RUNTIME_DIR")
    candidates = [os.path.join(runtime, "exporter")] if runtime and os.path.isabs(runtime) else []
    candidates.append(os.path.join(environ.get("TMPDIR") or "/tmp", f"exporter-{os.getuid()}"))
    for folder in candidates:
        # A socket's path must fit in about 100 bytes.
        if len(os.fsencode(folder)) <= _PATH_LIMIT and _private_folder(folder):
            return Address(folder, tool or fingerprint())
    return None


#: Longest folder for the socket: AF_UNIX paths hold 107 bytes, the file name takes 30.
_PATH_LIMIT = 76


def _private_folder(folder: str) -> bool:
    """Make *folder* if need be; whether it is a real folder of this user that only they can use."""
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return False
    try:
        status = os.lstat(folder)
    except OSError:
        return False
    # Another user's folder, a link, or one others can write to: never trust it.
    return (status.st_uid == os.getuid() and not status.st_mode & 0o077
            and stat.S_ISDIR(status.st_mode))


def fingerprint() -> str:
    """A hash of this interpreter and the installed package's files (names, sizes, times).

    A changed or upgraded package (code or bundled styles) gets a new server; the
    old one is never asked again and exits when idle.
    """
    digest = sha256(f"{sys.executable}\0{sys.version}\0{_PACKAGE}\0".encode())
    folders = [_PACKAGE]
    # A checkout (an editable install) keeps the bundled styles beside the package, as
    # exporter.resources.styles_dir finds them; a server must not keep serving old ones.
    checkout_styles = os.path.join(os.path.dirname(_PACKAGE), "styles")
    if not os.path.isdir(os.path.join(_PACKAGE, "styles")) and os.path.isdir(checkout_styles):
        folders.append(checkout_styles)
    for name, size, mtime in sorted(f for folder in folders for f in _package_files(folder)):
        digest.update(f"{name}\0{size}\0{mtime}\n".encode())
    # The installed distributions by name and version (WeasyPrint, Pillow, ...): an upgrade
    # of any of them also gets a new server, and voids the command records.
    for folder in sys.path:
        digest.update("\n".join(_distributions(folder)).encode())
    return digest.hexdigest()


def _distributions(folder: str) -> list[str]:
    """The ``*.dist-info`` folders (name-version) in one entry of ``sys.path``."""
    try:
        with os.scandir(folder or ".") as entries:
            return sorted(entry.name for entry in entries if entry.name.endswith(".dist-info"))
    except OSError:
        return []


def _package_files(folder: str) -> Iterator[tuple[str, int, int]]:
    """Code, stylesheets and fonts under *folder*: path, size and modification time."""
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=True):
                if entry.name != "__pycache__":
                    yield from _package_files(entry.path)
            elif entry.name.endswith((".py", ".css", ".ttf", ".otf")):
                status = entry.stat()
                yield entry.path, status.st_size, status.st_mtime_ns


def start_server(address: Address) -> None:
    """Start a server for *address* in the background, detached from this command's streams."""
    import contextlib
    import subprocess

    idle = os.environ.get("EXPORTER_SERVER_IDLE", "")
    try:
        idle = str(max(1.0, float(idle)))
    except ValueError:
        idle = str(IDLE_SECONDS)
    # The server must import this very package, wherever it was found from.
    path = os.pathsep.join(p for p in (os.path.dirname(_PACKAGE), os.environ.get("PYTHONPATH")) if p)
    # Should it fail to start, there is no server this time; the build runs here all the same.
    with contextlib.suppress(OSError):
        subprocess.Popen(
            [sys.executable, "-m", "exporter.server", address.socket, address.lock,
             address.fingerprint, idle],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, close_fds=True, cwd="/", env={**os.environ, "PYTHONPATH": path})
