"""``exporter verify``: check bags and archive PDFs by building their editions again."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import VERIFY_FAILED, ExporterError, InternalError, UsageProblem, VerifyError
from .reporting import Reporting

if TYPE_CHECKING:
    from ..verify import Verdict


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
    with Reporting():
        targets = list(_targets(paths))
        verdicts: list[Verdict | ExporterError] = []
        for target, outcome in zip(targets, _run(targets, jobs), strict=True):
            verdicts.append(outcome)
            if isinstance(outcome, ExporterError):
                click.echo(f"Error: {_printable(str(outcome))}", err=True)
            else:
                click.echo(f"{'Verified' if outcome.ok else 'DIFFERS'}: {target}", err=True)
                for note in outcome.notes:
                    click.echo(f"Note: {target}: {note}", err=True)
        rows = [_as_record(verdict, target) for target, verdict in zip(targets, verdicts,
                                                                        strict=True)]
        if report is not None:
            from ..output import write_atomic

            write_atomic(report, json.dumps(rows, indent=2).encode("utf-8") + b"\n")
        click.echo(json.dumps(rows, indent=2) if as_json else _table(rows))
        failed = [row["path"] for row in rows if row["verdict"] != "ok"]
        if failed:
            click.echo(f"Error: {len(failed)} of {len(rows)} archive(s) did not verify: "
                       f"{', '.join(failed)}", err=True)
            differs = any(row["verdict"] == "differs" for row in rows)
            sys.exit(VERIFY_FAILED if differs else VerifyError.exit_code)


def _targets(paths: tuple[Path, ...]) -> Iterator[Path]:
    """Bags and PDFs: as given, or found in the folders given (not inside a bag)."""
    for path in paths:
        if not path.exists():
            raise UsageProblem("no such file or folder", path=path)
        if path.is_file() or (path / "bagit.txt").is_file():
            yield path
            continue
        found = sorted({*(p.parent for p in path.rglob("bagit.txt")), *path.rglob("*.pdf")})
        bags = [p for p in found if p.is_dir()]
        found = [p for p in found if not any(p != bag and p.is_relative_to(bag) for bag in bags)]
        if not found:
            raise UsageProblem("folder holds no bag and no PDF", path=path)
        yield from found


def _run(targets: list[Path], jobs: int | None) -> Iterator[Verdict | ExporterError]:
    """Verify each target, in worker processes when there are several."""
    if len(targets) < 2 or jobs == 1:
        yield from map(_verify_one, targets)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    with ProcessPoolExecutor(jobs, mp_context=context) as pool:
        yield from pool.map(_verify_one, targets)


def _verify_one(path: Path) -> Verdict | ExporterError:
    from ..verify import verify

    try:
        return verify(path)
    except ExporterError as error:
        return error
    except Exception as error:  # (one archive's fault must not stop the others)
        return InternalError(f"internal error: {type(error).__name__}: {error}", path=path)


def _as_record(outcome: Verdict | ExporterError, path: Path) -> dict[str, Any]:
    if isinstance(outcome, ExporterError):
        return {"path": str(path), "verdict": "error", "error": outcome.message,
                "exit_code": outcome.exit_code, "checks": [], "notes": []}
    return {"path": str(path), "verdict": "ok" if outcome.ok else "differs",
            "exit_code": 0 if outcome.ok else VERIFY_FAILED, "notes": list(outcome.notes),
            "checks": [{"file": c.file, "expected": c.expected, "found": c.found,
                        "verdict": c.verdict} for c in outcome.checks]}


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
