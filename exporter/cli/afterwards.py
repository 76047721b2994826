"""What a build does once its editions are written: report, manifest, bag, catalog, proofs, checks."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .. import __version__
from ..errors import CHECK_FAILED, UsageProblem
from ..options import Options

if TYPE_CHECKING:
    from ..pipeline import BuildResult, Failure
    from .runs import Run


def after_build(run: Run, status: int, report: Path | None, manifest: bool, bag_dir: Path | None,
                check: bool, ace_dir: Path | None, proof: bool, catalog: str | None) -> int:
    """Reports, fixity, proofs and checks on what *run* built; return the exit status."""
    built, output_dir = run.built, run.output_dir
    if report is not None:
        from ..output import write_atomic

        write_atomic(report, json.dumps(report_record(run.outcomes), indent=2).encode("utf-8") + b"\n")
        click.echo(f"Wrote {report}", err=True)
    editions = [output.path for result in built for output in result.outputs]
    if manifest and editions:
        from ..fixity import write_manifest

        click.echo(f"Wrote {write_manifest(editions, output_dir)}", err=True)
    if bag_dir is not None:
        if status:
            raise UsageProblem("bag not written: some articles failed", path=bag_dir)
        from ..fixity import bagging_date, write_bag

        inputs, record = _kept(built, run.options)
        write_bag(bag_dir, editions, inputs, record,
                  external_identifier=list(dict.fromkeys(result.identifier for result in built)),
                  bagging_date=bagging_date(result.date for result in built),
                  tool=f"exporter {__version__}")
        click.echo(f"Wrote bag {bag_dir}", err=True)
    write_catalog_of(built, output_dir, catalog)
    pdfs = [path for path in editions if path.suffix == ".pdf"]
    if proof and pdfs:
        from ..proof import write_proofs

        for pdf in pdfs:
            folder = pdf.with_name(f"{pdf.stem}-proof")
            if folder.is_symlink():  # (its old pages are removed: never through a link)
                raise UsageProblem("the proofs' folder is a link; remove it", path=folder)
            result = write_proofs(pdf, folder)
            click.echo(f"Wrote proofs: {result.contact_sheet}", err=True)
    if check and editions:
        from ..check import check_files, format_findings, has_errors

        findings = check_files([p for p in editions if p.suffix in (".epub", ".pdf")],
                               ace_dir=ace_dir)
        click.echo(format_findings(findings), err=True)
        if has_errors(findings):
            status = status or CHECK_FAILED
    return status


def write_catalog_of(built: list[BuildResult], output_dir: Path, title: str | None) -> None:
    """Write the library page and the OPDS catalog of what was built, when asked (*title*)."""
    if title is None or not built:
        return
    from ..catalog import write_catalog

    page, feed = write_catalog([result.outputs for result in built], output_dir, title)
    click.echo(f"Wrote catalog: {page}, {feed}", err=True)


def _kept(built: list[BuildResult], options: Options) -> tuple[list[tuple[str, Path]], bytes]:
    """The inputs of every build, by archive name, and the bag's record of the builds.

    Each build's inputs are named from its own folder; a build whose names would clash with
    an earlier one's (two folders, each with its ``img.png``) goes under ``sources/N/``.
    """
    from ..archive import RECORD_FORMAT, build_record, kept_inputs, stylesheet_inputs

    styles = stylesheet_inputs(options)  # (read once: every build shares the options)
    inputs: dict[str, Path] = {}
    builds = []
    for number, result in enumerate(built, start=1):
        book_file = result.binding.file if result.binding else None
        kept = kept_inputs(result.sources, result.inputs, book_file, styles)
        if any(inputs.get(name, path) != path for name, path in kept):
            kept = kept_inputs(result.sources, result.inputs, book_file, styles,
                               f"sources/{number}/")
        inputs.update(kept)
        record = build_record(result.sources, result.binding, options, kept)
        editions = {output.path.name: output.sha256 for output in result.outputs}
        builds.append({**record, "editions": dict(sorted(editions.items()))})
    text = json.dumps({"format": RECORD_FORMAT, "builds": builds}, indent=1, sort_keys=True,
                      ensure_ascii=False)
    return sorted(inputs.items()), text.encode("utf-8") + b"\n"


def report_record(outcomes: Sequence[BuildResult | Failure]) -> dict[str, Any]:
    """A machine-readable record of a build: one entry per source, in order."""
    from ..pipeline import Failure

    entries: list[dict[str, Any]] = []
    for outcome in outcomes:
        entry: dict[str, Any] = {"source": str(outcome.source), "status": "failed",
                                 "outputs": [], "warnings": [], "error": None}
        if isinstance(outcome, Failure):
            error = outcome.error
            entry.update(error={"type": type(error).__name__, "message": error.message,
                                                 "line": error.line, "exit_code": error.exit_code})
        else:
            entry.update(status="reused" if outcome.reused else "built", outputs=[
                {"format": o.format, "path": str(o.path), "size": o.size, "sha256": o.sha256}
                for o in outcome.outputs], warnings=[
                {"code": w.code, "severity": w.severity, "message": w.message, "line": w.line}
                for w in outcome.warnings])
        entries.append(entry)
    return {"tool": f"exporter {__version__}", "sources": entries}
