"""Defaults from a file: ``exporter.toml``, or ``[tool.exporter]`` in a ``pyproject.toml``.

The nearest such file from the working folder upward gives defaults for the
``build`` options, its keys spelled as the long options (``page-size = "A5"``);
the command line overrides it.  Unknown keys are an error naming file and key.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UsageProblem, reason


class ConfigError(UsageProblem):
    """A defaults file that cannot be read or holds an unknown key."""


@dataclass(frozen=True)
class Defaults:
    """Settings read from a defaults file, by long option name, and the file they came from."""

    values: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None


def find_defaults(start: Path) -> Path | None:
    """The nearest ``exporter.toml`` or ``pyproject.toml`` with ``[tool.exporter]``, upward."""
    for folder in [start, *start.parents]:
        candidate = folder / "exporter.toml"
        if candidate.is_file():
            return candidate
        project = folder / "pyproject.toml"
        if project.is_file() and "exporter" in _read(project).get("tool", {}):
            return project
    return None


def load_defaults(start: Path, known: dict[str, str]) -> Defaults:
    """Read the defaults in force at *start*; *known* maps long option names to their meaning."""
    path = find_defaults(start)
    if path is None:
        return Defaults()
    table = _read(path)
    if path.name == "pyproject.toml":
        table = table["tool"]["exporter"]
    if not isinstance(table, dict):
        raise ConfigError("[tool.exporter] must be a table", path=path)
    for key in table:
        if key not in known:
            raise ConfigError(f"unknown key {key!r}; known keys: {', '.join(sorted(known))}",
                              path=path)
    return Defaults(dict(table), path)


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"invalid TOML: {error}", path=path) from None
    except OSError as error:
        raise ConfigError(f"cannot read: {reason(error)}", path=path) from None
