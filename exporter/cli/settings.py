"""Defaults for the ``build`` options from a defaults file, shaped as Click's ``default_map``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..config import ConfigError, Defaults, load_defaults


def build_options() -> dict[str, click.Option]:
    """The ``build`` command's options by long name (``page-size``), as a defaults file spells them."""
    from .build_command import build

    options = {}
    for param in build.params:
        if isinstance(param, click.Option):
            long_names = [name for name in param.opts if name.startswith("--")]
            if long_names and param.name not in {"debug"}:
                options[long_names[0][2:].split("/")[0]] = param
    return options


def read_defaults(cwd: Path) -> Defaults:
    """The defaults file in force at *cwd*, its keys checked against the build options."""
    known = {name: param.help or "" for name, param in build_options().items()}
    return load_defaults(cwd, known)


def defaults_map(cwd: Path) -> dict[str, Any]:
    """Click's ``default_map``: {"build": {parameter name: value}} from the defaults file."""
    defaults = read_defaults(cwd)
    if not defaults.values:
        return {}
    options = build_options()
    values: dict[str, Any] = {}
    for key, value in defaults.values.items():
        param = options[key]
        if param.multiple and not isinstance(value, list):
            value = [value]
        if param.multiple and not all(isinstance(item, str) for item in value):
            raise ConfigError(f"{key!r} must be text or a list of text", path=defaults.path)
        values[str(param.name)] = value
    return {"build": values}
