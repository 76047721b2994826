"""Writing outputs so that nothing is half-written: each file goes beside its target and is
renamed into place, all of a build's files or none (interrupts held off meanwhile)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import OutputError, reason


def write_atomic(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write *data* to *path* through a temporary file and a rename; see :func:`write_all_atomic`."""
    write_all_atomic([(path, data)], durable=durable)


def write_all_atomic(items: list[tuple[Path, bytes]], *, durable: bool = True) -> None:
    """Write several files so that all are replaced or none: each is written in full (and flushed
    to disk unless *durable* is false, for a cache) before any is renamed into place."""
    for path, _ in items:
        if path.is_dir():
            raise OutputError("is a folder; cannot replace it with a file", path=path)
        _remove_leftovers(path)
    staged: list[tuple[str, Path]] = []
    backups: list[tuple[str | None, Path]] = []
    try:
        for path, data in items:
            staged.append((_stage(path, data, durable), path))
        with _interrupts_held():
            for temporary, path in staged:
                backups.append((_backup(path), path))
                try:
                    os.replace(temporary, path)
                except OSError as error:
                    for backup, done in backups[:-1]:  # undo: old files back, new ones removed
                        with contextlib.suppress(OSError):
                            if backup is not None:
                                os.replace(backup, done)
                            else:
                                os.unlink(done)
                    raise OutputError(f"cannot write: {reason(error)}", path=path) from None
    finally:
        for leftover in [temporary for temporary, _ in staged] + [b for b, _ in backups if b]:
            with contextlib.suppress(OSError):
                os.unlink(leftover)


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold off Ctrl-C, SIGTERM and SIGHUP (delivered once the block ends)."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM,
                                                         signal.SIGHUP})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _remove_leftovers(path: Path) -> None:
    """Remove the temporary files beside *path* that a killed build left (its process is gone)."""
    leftover = re.compile(rf"\.{re.escape(path.name)}\.(\d+)\.(?:[a-z0-9_]{{8}}\.part|old)")
    with contextlib.suppress(OSError):
        for entry in os.scandir(path.parent):
            match = leftover.fullmatch(entry.name)
            if match and not _alive(int(match.group(1))):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # (another user's process)
        pass
    return True


def _backup(path: Path) -> str | None:
    """A hard link to the file *path* still holds, so a failed build can put it back."""
    if not path.is_file():
        return None
    backup = f"{path.parent}/.{path.name}.{os.getpid()}.old"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(backup)
    try:
        os.link(path, backup)
    except OSError:
        return None
    return backup


def _stage(path: Path, data: bytes, durable: bool) -> str:
    """Write *data* to a new temporary file beside *path*; return its name."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create folder: {reason(error)}", path=path.parent) from None
    temporary = None
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".part",
                                             dir=path.parent)
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            if durable:
                stream.flush()
                os.fsync(stream.fileno())
        mask = os.umask(0o077)  # (read back at once; meanwhile narrower, never wider)
        os.umask(mask)
        os.chmod(temporary, 0o666 & ~mask)  # the mode open() gives a new file
        return temporary
    except OSError as error:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        raise OutputError(f"cannot write: {reason(error)}", path=path) from None
