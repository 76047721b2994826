"""The commands besides ``build`` and ``preview``: ``check``, ``proof``, ``config`` and ``verify``."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import CHECK_FAILED, VERIFY_FAILED, ExporterError, InternalError, UsageProblem, VerifyError
from ..options import FORMATS, Options
from .build_command import build_options, read_defaults
from .reporting import kill_unwinds, reporting
from .runs import working_folder

if TYPE_CHECKING:
    from ..session import Session
    from ..verify import Verdict


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
    with reporting():
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
    with reporting():
        from ..proof import write_proofs

        for pdf in pdfs:
            folder = output_dir or pdf.with_name(f"{pdf.stem}-proof")
            result = write_proofs(pdf, folder, dpi=dpi)
            click.echo(f"Wrote {len(result.pages)} page image(s) and {result.contact_sheet}",
                       err=True)


@click.command("config")
def config_command() -> None:
    """Print the build settings in force here, and where each comes from."""
    with reporting():
        defaults = read_defaults()
        for note in defaults.ignored:
            click.echo(f"Warning: {note}", err=True)
        base = defaults.path.parent if defaults.path else working_folder()
        rows = []
        for name, param in build_options().items():
            given = name in defaults.values
            value = defaults.values[name] if given else _EFFECTIVE_DEFAULTS.get(name, param.default)
            rows.append((name, _as_written(value, param, base), str(defaults.path) if given else "default"))
        width = max(len(name) for name, _, _ in rows)
        value_width = max(len(value) for _, value, _ in rows)
        if defaults.path is None:
            click.echo("No exporter.toml or [tool.exporter] found from here upward; defaults apply.")
        for name, value, where in rows:
            click.echo(f"{name:<{width}}  {value:<{value_width}}  {where}")


#: What an option left unset means, where Click's default is "none given".
_EFFECTIVE_DEFAULTS: dict[str, Any] = {"format": list(FORMATS), "style": ["classic"]}


def _as_written(value: Any, param: click.Parameter, base: Path) -> str:
    """*value* as a user writes it in exporter.toml (a TOML literal), or ``(not set)`` (None, or
    Click's marker for "no default")."""
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


@click.command("verify")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), default=None,
              metavar="FILE.json", help="Also write the checks to FILE.json.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Archives verified at once, in worker processes. Default: number of CPUs.")
def verify_command(paths: tuple[Path, ...], as_json: bool, report: Path | None,
                   jobs: int | None) -> None:
    """Verify bags and archive PDFs: fixity first, then a rebuild compared byte for byte.

    PATHS are bags (folders holding bagit.txt), PDFs of the archive edition, or folders
    searched for both. Exits 13 when any file differs, naming it.
    """
    with reporting(), kill_unwinds():
        targets, rows = list(_targets(paths)), []
        for target, outcome in zip(targets, _run(targets, jobs), strict=True):
            rows.append(_as_record(outcome, target))
            if isinstance(outcome, ExporterError):
                click.echo(f"Error: {_printable(str(outcome))}", err=True)
            else:
                click.echo(f"{'Verified' if outcome.ok else 'DIFFERS'}: {target}", err=True)
                for note in outcome.notes:
                    click.echo(f"Note: {target}: {note}", err=True)
        if report is not None:
            from ..output import write_atomic

            write_atomic(report, json.dumps(rows, indent=2).encode("utf-8") + b"\n")
        click.echo(json.dumps(rows, indent=2) if as_json else _table(rows))
        failed = [row["path"] for row in rows if row["verdict"] != "ok"]
        # (a lone archive that could not be read has had its one Error: line)
        if failed and (len(rows) > 1 or rows[0]["verdict"] == "differs"):
            click.echo(f"Error: {len(failed)} of {len(rows)} archive(s) did not verify: "
                       f"{', '.join(failed)}", err=True)
        if failed:
            differs = any(row["verdict"] == "differs" for row in rows)
            sys.exit(VERIFY_FAILED if differs else VerifyError.exit_code)


def _targets(paths: tuple[Path, ...]) -> Iterator[Path]:
    """Bags and PDFs: as given, or found in the folders given (not inside a bag)."""
    for path in paths:
        if not path.exists():  # (an archive that cannot be read, as a source that cannot is 4)
            raise VerifyError("no such file or folder", path=path)
        if path.is_file() or (path / "bagit.txt").is_file():
            yield path
            continue
        found = sorted({*(p.parent for p in path.rglob("bagit.txt")), *path.rglob("*.pdf")})
        bags = [p for p in found if p.is_dir()]
        found = [p for p in found if not any(p != bag and p.is_relative_to(bag) for bag in bags)]
        if not found:
            raise UsageProblem("folder holds no bag and no PDF", path=path)
        yield from found


def _run(targets: list[Path], jobs: int | None) -> list[Verdict | ExporterError]:
    """Verify each target in worker processes (as builds do), whose temporary files (WeasyPrint's
    copies of fonts, 8 MB a process) go in one folder removed when they stop."""
    from ..batch import Workers, default_jobs
    from ..pipeline import Failure

    with contextlib.closing(Workers(jobs or default_jobs(), Options(), None)) as workers:
        outcomes = workers.run_each(_verify_one, targets)
    return [outcome.error if isinstance(outcome, Failure) else outcome for outcome in outcomes]


def _verify_one(source: Path, session: Session) -> Verdict | ExporterError:
    """The verdict on one archive, or the error that stopped its verification."""
    from ..verify import verify

    try:
        return verify(source, session)
    except ExporterError as error:
        return error
    except Exception as error:  # (one archive's fault must not stop the others)
        return InternalError(f"internal error: {type(error).__name__}: {error}", path=source)


def _as_record(outcome: Verdict | ExporterError, path: Path) -> dict[str, Any]:
    """One archive's entry in the JSON report."""
    if isinstance(outcome, ExporterError):
        return {"path": str(path), "verdict": "error", "error": outcome.message,
                "exit_code": outcome.exit_code, "checks": [], "notes": []}
    return {"path": str(path), "verdict": "ok" if outcome.ok else "differs",
            "exit_code": 0 if outcome.ok else VERIFY_FAILED, "notes": list(outcome.notes),
            "checks": [dataclasses.asdict(check) for check in outcome.checks]}


def _table(rows: list[dict[str, Any]]) -> str:
    """One line per file checked: archive, file, expected and found SHA-256 (shortened), verdict."""
    lines: list[tuple[str, ...]] = [("ARCHIVE", "FILE", "EXPECTED", "FOUND", "VERDICT")]
    for row in rows:
        if row["verdict"] == "error":
            lines.append((row["path"], "-", "-", "-", "error"))
        lines += [(row["path"], c["file"], c["expected"][:12] or "-", c["found"][:12] or "-",
                   c["verdict"]) for c in row["checks"]]
    # (names come from the archive: no control character of theirs reaches the terminal)
    lines = [tuple(_printable(cell) for cell in line) for line in lines]
    widths = [max(len(line[i]) for line in lines) for i in range(4)]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=False))
                     + "  " + line[4] for line in lines)


def _printable(text: str) -> str:
    return "".join(char if char.isprintable() else "?" for char in text)
