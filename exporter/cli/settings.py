"""Defaults for the ``build`` options from a defaults file, shaped as Click's ``default_map``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from ..config import ConfigError, Defaults, load_defaults

#: Options a defaults file cannot set: they concern one run, not a project's habits.
_NOT_DEFAULTS = {"debug", "watch"}


def build_options(params: Sequence[click.Parameter]) -> dict[str, click.Option]:
    """The options among *params* by long name (``page-size``), as a defaults file spells them."""
    options = {}
    for param in params:
        if isinstance(param, click.Option):
            long_names = [name for name in param.opts if name.startswith("--")]
            if long_names and param.name not in _NOT_DEFAULTS:
                options[long_names[0][2:].split("/")[0]] = param
    return options


def read_defaults(cwd: Path, params: Sequence[click.Parameter]) -> Defaults:
    """The defaults file in force at *cwd*, its keys checked against the options in *params*."""
    known = {name: param.help or "" for name, param in build_options(params).items()}
    return load_defaults(cwd, known)


def defaults_map(cwd: Path, params: Sequence[click.Parameter]) -> dict[str, Any]:
    """Click's ``default_map`` of one command: {parameter name: value} from the defaults file."""
    defaults = read_defaults(cwd, params)
    for note in defaults.ignored:
        click.echo(f"Warning: {note}", err=True)
    options = build_options(params)
    values: dict[str, Any] = {}
    for key, value in defaults.values.items():
        param = options[key]
        if param.multiple and not isinstance(value, list):
            value = [value]
        if param.multiple and not all(isinstance(item, str) for item in value):
            raise ConfigError(f"{key!r} must be text or a list of text", path=defaults.path)
        if param.is_flag and not isinstance(value, bool):
            raise ConfigError(f"{key!r} must be true or false", path=defaults.path)
        if not param.multiple and isinstance(value, (list, dict)):
            raise ConfigError(f"{key!r} takes one value, not a list or table", path=defaults.path)
        values[str(param.name)] = value
    return values
