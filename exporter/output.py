"""Writing outputs so that nothing is ever half-written.

Each file is written to a temporary file beside its target, flushed to disk
and renamed into place: an interrupted build leaves the previous output.
Caches, which a crash may only make a rebuild of, skip the flush to disk.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from .errors import OutputError, reason


def write_atomic(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write *data* to *path* through a temporary file and a rename; see :func:`write_all_atomic`."""
    write_all_atomic([(path, data)], durable=durable)


def write_all_atomic(items: list[tuple[Path, bytes]], *, durable: bool = True) -> None:
    """Write several files so that either all are replaced or none is.

    Every file is first written in full beside its target; only then are they
    renamed into place, so a full disk or an error leaves the old outputs.  Unless
    *durable* is false (a cache), each is flushed to disk before its rename, so
    that a crash leaves the old file or the new one, never an empty one.
    """
    for path, _ in items:
        if path.is_dir():
            raise OutputError("is a folder; cannot replace it with a file", path=path)
    staged: list[tuple[str, Path]] = []
    backups: list[tuple[str | None, Path]] = []
    try:
        for path, data in items:
            staged.append((_stage(path, data, durable), path))
        for temporary, path in staged:
            backups.append((_backup(path), path))
            try:
                os.replace(temporary, path)
            except OSError as error:
                _restore(backups)
                raise OutputError(f"cannot write: {reason(error)}", path=path) from None
    finally:
        for temporary, _ in staged:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        for backup, _ in backups:
            if backup is not None:
                with contextlib.suppress(OSError):
                    os.unlink(backup)


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


def _restore(backups: list[tuple[str | None, Path]]) -> None:
    """Undo the renames done so far: old files back in place, new ones removed."""
    for backup, path in backups[:-1]:
        with contextlib.suppress(OSError):
            if backup is not None:
                os.replace(backup, path)
            else:
                os.unlink(path)


def _stage(path: Path, data: bytes, durable: bool) -> str:
    """Write *data* to a new temporary file beside *path*; return its name."""
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create folder: {reason(error)}", path=folder) from None
    temporary = None
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            if durable:
                stream.flush()
                os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        return temporary
    except OSError as error:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        raise OutputError(f"cannot write: {reason(error)}", path=path) from None
