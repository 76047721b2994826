"""Which articles a build takes: the files and folders named, and the folders it may use."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import click

from ..errors import StrictError, UsageProblem
from ..source import SUFFIXES
from .pipes import STDIO

#: Where articles are looked for when no SOURCE is given.
CONTENT_DIR = Path("content")


def expand_sources(sources: Sequence[Path], allow_empty: bool = False,
                   strict: bool = False) -> Iterator[Path]:
    """Files as given; folders (and the default content/) as every article inside, sorted.

    A folder's articles are the files that lie inside it: a link leading out of it
    (to ``/etc/passwd``, a key) is skipped with a warning, or refused under *strict*.
    """
    if not sources and allow_empty:
        return
    if not sources:
        if not CONTENT_DIR.is_dir():
            raise UsageProblem("no SOURCE given and no content/ folder here")
        refuse_leading_out(CONTENT_DIR)
        sources = (CONTENT_DIR,)
    for source in sources:
        if source == STDIO:
            raise UsageProblem("'-' (standard input) needs '-o -' or a single SOURCE with -o DIR")
        if source.is_dir():
            found = sorted(p for p in source.rglob("*")
                           if p.suffix.lower() in SUFFIXES and p.is_file()
                           and not any(part.startswith(".") for part in p.relative_to(source).parts))
            inside = [path for path in found if _stays_in(path, source)]
            for path in found:
                if path not in inside:
                    message = "leads outside the folder given; not built"
                    if strict:
                        raise StrictError(message, path=path)
                    click.echo(f"Warning: {path}: {message}", err=True)
            if not inside:
                raise UsageProblem("folder holds no .md, .markdown or .txt article", path=source)
            yield from inside
        else:
            yield source


def refuse_shared_names(paths: Sequence[Path], output_dir: Path) -> None:
    """Two articles named alike (``a/x.md``, ``b/x.md``) would overwrite each other's editions."""
    seen: dict[str, Path] = {}
    for path in paths:
        first = seen.setdefault(path.stem, path)
        if first != path:
            raise UsageProblem(f"{first} and {path} would both write {output_dir / path.stem}.*; "
                               "rename one, or build them into different folders")


def refuse_leading_out(folder: Path) -> None:
    """A default folder (``content/``, ``dist/``) that is a link out of the working folder, as a
    cloned repository could ship, is refused: name it yourself if you mean it."""
    if folder.exists() and not _stays_in(folder, working_folder()):
        raise UsageProblem(f"{folder}/ leads outside the working folder; name the folder you "
                           "mean on the command line", path=folder)


def _stays_in(path: Path, folder: Path) -> bool:
    from ..resources import is_inside

    return is_inside(path, [folder])


def working_folder() -> Path:
    """The working folder; a clear error when it has been deleted (as by another shell)."""
    try:
        return Path.cwd()
    except FileNotFoundError:
        raise UsageProblem("the working folder no longer exists; change to one that does") from None
