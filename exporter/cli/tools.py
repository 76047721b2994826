"""The commands besides ``build``: ``check``, ``proof`` and ``config``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ..errors import CHECK_FAILED
from ..options import FORMATS
from .build_command import build
from .reporting import Reporting
from .sources import working_folder


@click.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True,
              help="Print the findings as a JSON array (code, severity, file, message).")
@click.option("--ace-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              envvar="EXPORTER_ACE_DIR", show_envvar=True, metavar="DIR",
              help="Folder where DAISY Ace was installed with npm (holds node_modules/.bin/"
                   "ace-puppeteer). Default: ace-puppeteer on PATH.")
def check_command(files: tuple[Path, ...], as_json: bool, ace_dir: Path | None) -> None:
    """Check EPUB and PDF FILES, whoever made them.

    EPUBs go through EPUBCheck and DAISY Ace; PDFs are checked for embedded fonts,
    tags, language, title, PDF/A, PDF/UA and PDF/X identification and page boxes.
    Exits with status 12 when any finding is an error.
    """
    with Reporting():
        from ..check import check_files, findings_to_json, format_findings, has_errors

        findings = check_files(files, ace_dir=ace_dir)
        click.echo(findings_to_json(findings) if as_json else format_findings(findings))
        if has_errors(findings):
            sys.exit(CHECK_FAILED)


@click.command("proof")
@click.argument("pdfs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output-dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Folder for the images (default: beside each PDF, in <name>-proof/).")
@click.option("--dpi", type=click.IntRange(10, 600), default=60, show_default=True,
              help="Resolution of the page images.")
def proof_command(pdfs: tuple[Path, ...], output_dir: Path | None, dpi: int) -> None:
    """Write a PNG of every page of each PDF, and one contact sheet of its spreads."""
    with Reporting():
        from ..proof import write_proofs

        for pdf in pdfs:
            folder = output_dir or pdf.with_name(f"{pdf.stem}-proof")
            result = write_proofs(pdf, folder, dpi=dpi)
            click.echo(f"Wrote {len(result.pages)} page image(s) and {result.contact_sheet}",
                       err=True)


@click.command("config")
def config_command() -> None:
    """Print the build settings in force here, and where each comes from."""
    with Reporting():
        from .settings import build_options, read_defaults

        defaults = read_defaults(working_folder(), build.params)
        for note in defaults.ignored:
            click.echo(f"Warning: {note}", err=True)
        origin = str(defaults.path) if defaults.path else ""
        rows = []
        base = defaults.path.parent if defaults.path else working_folder()
        for name, param in build_options(build.params).items():
            if name in defaults.values:
                rows.append((name, _as_written(defaults.values[name], param, base), origin))
            else:
                value = _EFFECTIVE_DEFAULTS.get(name, param.default)
                rows.append((name, _as_written(value, param, base), "default"))
        width = max(len(name) for name, _, _ in rows)
        value_width = max(len(value) for _, value, _ in rows)
        if defaults.path is None:
            click.echo("No exporter.toml or [tool.exporter] found from here upward; defaults apply.")
        for name, value, where in rows:
            click.echo(f"{name:<{width}}  {value:<{value_width}}  {where}")


#: What an option left unset means, where Click's default is "none given".
_EFFECTIVE_DEFAULTS: dict[str, Any] = {"format": list(FORMATS), "style": ["classic"]}


def _as_written(value: Any, param: click.Parameter, base: Path) -> str:
    """*value* as a user writes it in exporter.toml (a TOML literal), or ``(not set)``.

    Anything else than a plain value (None, or Click's marker for "no default") is not set.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str) and isinstance(param.type, click.Path):
        value = Path(value)
    if isinstance(value, Path) and value.is_absolute() and value.is_relative_to(base):
        value = value.relative_to(base)  # (as written in the defaults file, beside it)
    if isinstance(value, (str, Path)):
        return json.dumps(value.as_posix() if isinstance(value, Path) else value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_as_written(item, param, base) for item in value) + "]"
    if value is not None and isinstance(param, click.Option) and param.is_flag:
        return "false"
    return "[]" if param.multiple else "(not set)"
