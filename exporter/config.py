"""Defaults for ``build`` from the nearest ``exporter.toml`` or ``[tool.exporter]`` upward; as git
does, only the user's own files, never naming files outside their folder or programs to run."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UsageProblem, reason


class ConfigError(UsageProblem):
    """A defaults file that cannot be read or holds an unknown or refused key."""


#: Keys that name a file or folder: in a defaults file, relative and inside its folder.
PATH_KEYS = ("output-dir", "report", "bag", "style", "book")
#: Keys a defaults file may never set, and why (a Dask scheduler's results are unpickled here).
COMMAND_LINE_ONLY = {"ace-dir": "names a program to run",
                     "scheduler": "names a Dask cluster whose results run code here"}


@dataclass(frozen=True)
class Defaults:
    """Settings read from a defaults file, by long option name, and the file they came from."""

    values: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    #: Files passed over, with the reason (the CLI shows them as warnings).
    ignored: tuple[str, ...] = ()


def find_defaults(start: Path) -> tuple[Path | None, tuple[str, ...]]:
    """The nearest defaults file upward from *start* (or None), and the other users' files passed over."""
    ignored: list[str] = []
    for folder in [start, *start.parents]:
        if not _owned(folder):
            break
        for candidate in (folder / "exporter.toml", folder / "pyproject.toml"):
            if not candidate.is_file():
                continue
            owned = _owned(candidate)
            if candidate.name == "pyproject.toml":  # (another user's unreadable one is passed over)
                try:
                    tool = _read(candidate).get("tool")
                except ConfigError:
                    if owned:
                        raise
                    continue
                if not (isinstance(tool, dict) and "exporter" in tool):
                    continue
            if owned:
                return candidate, tuple(ignored)
            ignored.append(f"{candidate}: ignored, as it belongs to another user")
        if folder == Path.home() or (folder / ".git").exists():
            break
    return None, tuple(ignored)


def load_defaults(start: Path, known: dict[str, str]) -> Defaults:
    """Read the defaults in force at *start*; *known* maps long option names to their meaning."""
    path, ignored = find_defaults(start)
    if path is None:
        return Defaults(ignored=ignored)
    table = _read(path)
    if path.name == "pyproject.toml":
        table = table["tool"]["exporter"]
    if not isinstance(table, dict):
        raise ConfigError("[tool.exporter] must be a table", path=path)
    for key in table:
        if key not in known:
            raise ConfigError(f"unknown key {key!r}; known keys: {', '.join(sorted(known))}",
                              path=path)
        if key in COMMAND_LINE_ONLY:
            raise ConfigError(f"{key!r} {COMMAND_LINE_ONLY[key]}: give it on the command line, "
                              "never in a defaults file", path=path)
    values = {key: _anchored(key, value, path) if key in PATH_KEYS else value
              for key, value in table.items()}
    return Defaults(values, path, ignored)


def _anchored(key: str, value: Any, path: Path) -> Any:
    """*value* of a path key, relative to the defaults file's folder and checked to stay in it."""
    if isinstance(value, list):
        return [_anchored(key, item, path) for item in value]
    if not isinstance(value, str):
        raise ConfigError(f"{key!r} must be text", path=path)
    if key == "output-dir" and value == "-":
        raise ConfigError("'output-dir' = '-': standard output is for the command line only "
                          "(-o -); name a folder", path=path)
    if key == "style" and not (value.endswith(".css") or "/" in value or os.sep in value):
        return value  # a bundled style's name
    if key == "book" and not value.endswith((".yaml", ".yml")):
        return value  # a book's title
    folder = path.parent.resolve()
    resolved = (folder / value).resolve()
    if Path(value).is_absolute() or not resolved.is_relative_to(folder):
        raise ConfigError(f"{key!r} = {value!r} leads outside the defaults file's folder; a "
                          "defaults file may name only files and folders inside its own", path=path)
    if any(part.startswith(".") for part in resolved.relative_to(folder).parts):
        raise ConfigError(f"{key!r} = {value!r} names a hidden file or folder (such as .git); "
                          "a defaults file may not", path=path)
    return str(resolved)


def _owned(path: Path) -> bool:
    """True when the user running the tool owns *path* (always, where ownership is unknown)."""
    try:
        return not hasattr(os, "getuid") or path.stat().st_uid == os.getuid()
    except OSError:
        return False


def _read(path: Path) -> dict[str, Any]:
    import tomllib

    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"invalid TOML: {error}", path=path) from None
    except OSError as error:
        raise ConfigError(f"cannot read: {reason(error)}", path=path) from None
