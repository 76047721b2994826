"""The project's exceptions, one subclass per kind of failure, and every exit status (the
README's table); only :mod:`exporter.cli` turns them into an ``Error:`` line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: Some articles of a batch failed (each named), or an internal error.
BATCH_FAILED = 1
#: ``check`` (or ``build --check``) found an error.
CHECK_FAILED = 12
#: ``verify`` rebuilt an edition that differs from the kept one, or found a kept file changed.
VERIFY_FAILED = 13
#: Stopped by Ctrl-C, the reader of standard output went away (``| head``), the terminal was
#: closed, or stopped by a plain ``kill``: 128 + the signal.
INTERRUPTED = 130
READER_GONE = 141
HUNG_UP = 129
KILLED = 143


def _where(path: object, line: int | None) -> str:
    """``path:line: `` (or ``path: ``) to put before a message, or nothing without a path."""
    if path is None:
        return ""
    return f"{path}:{line}: " if line is not None else f"{path}: "


class ExporterError(Exception):
    """Base class of every failure the tool reports to its user."""

    exit_code = 3

    def __init__(self, message: str, *, path: Path | str | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line

    def __str__(self) -> str:
        return _where(self.path, self.line) + self.message


class InternalError(ExporterError):
    """A fault of the tool itself, met while building one article (a bug to report)."""

    exit_code = BATCH_FAILED

    def __init__(self, message: str, *, path: Path | str | None = None, details: str = ""):
        super().__init__(message, path=path)
        self.details = details  # the traceback, shown under --debug


class UsageProblem(ExporterError):
    """An option value, or a defaults file, the command cannot use."""
    exit_code = 2


class SourceError(ExporterError):
    """The source file cannot be read, decoded or parsed."""
    exit_code = 4


class MetadataError(SourceError):
    """The front matter is malformed or holds an invalid value."""
    exit_code = 5


class ResourceError(ExporterError):
    """A resource (image, stylesheet, font) is missing or refused by the offline policy."""
    exit_code = 6


class StyleError(ExporterError):
    """An unknown style name or an unreadable stylesheet."""
    exit_code = 7


class OutputError(ExporterError):
    """An output file cannot be written."""
    exit_code = 8


class RenderError(ExporterError):
    """An edition could not be rendered from a valid document."""
    exit_code = 9


class StrictError(ExporterError):
    """A warning was raised while ``--strict`` asks for none."""
    exit_code = 10


class ProofError(ExporterError):
    """A PDF that cannot be opened or rendered as proofs."""
    exit_code = 11


class VerifyError(ExporterError):
    """An archive that cannot be read or trusted (malformed, too large, names that escape it)."""
    exit_code = 14


class ExecutorError(ExporterError):
    """A batch's executor (a Dask scheduler, a process pool) that could not build an article."""
    exit_code = 15


@dataclass(frozen=True)
class Diagnostic:
    """A warning found while building: data, shown by the CLI as it sees fit."""

    code: str
    message: str
    path: str | None = None
    line: int | None = None
    #: ``warning`` (fails a ``--strict`` build) or ``note`` (information only).
    severity: str = "warning"

    def __str__(self) -> str:
        return _where(self.path, self.line) + self.message


_REASONS = {FileNotFoundError: "no such file", PermissionError: "permission denied",
            IsADirectoryError: "is a folder"}


def reason(error: OSError) -> str:
    """A short, lower-case reason for a failed file operation, for an ``Error:`` line."""
    for kind, text in _REASONS.items():
        if isinstance(error, kind):
            return text
    text = error.strerror or str(error) or type(error).__name__
    return text[:1].lower() + text[1:]
