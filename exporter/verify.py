"""``exporter verify``: an archive proves itself by being built again from what it keeps.

A bag's manifests, or an archive PDF's attachments against the checksums its record
gives, are checked first; then the editions are built again from the kept inputs alone,
in a temporary folder, and compared byte for byte with the kept ones (a PDF with itself).
An archive is hostile input: sizes are bounded, names cannot leave the temporary
folder, links are refused, nothing is fetched.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .archive import KEPT_OPTIONS, RECORD_FORMAT, RECORD_NAME, safe_name, tool_differences
from .errors import ExporterError, VerifyError
from .options import Options

#: Largest kept file, and all of one archive's kept files together, in bytes.
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_TOTAL_BYTES = 512 * 1024 * 1024
#: Most files one archive may keep, and the largest record.
MAX_FILES = 2000
MAX_RECORD_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Check:
    """One file compared: what the archive says it should be, what was found, the verdict."""

    file: str
    expected: str
    found: str
    #: ``ok``, ``differs``, ``missing`` (named but absent) or ``unexpected`` (present, unnamed).
    verdict: str


@dataclass(frozen=True)
class Verdict:
    """Every check of one archive, and notes that may explain a difference."""

    path: Path
    checks: tuple[Check, ...]
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(check.verdict == "ok" for check in self.checks)


def verify(path: Path) -> Verdict:
    """Verify the bag or archive PDF at *path*; :class:`VerifyError` when it cannot be read."""
    try:
        return _verify_bag(path) if path.is_dir() else _verify_pdf(path)
    except VerifyError as error:
        if error.path is None:
            error.path = path
        raise
    except OSError as error:
        raise VerifyError(f"cannot be read: {error.strerror or error}", path=path) from None


def _verify_pdf(path: Path) -> Verdict:
    import pikepdf

    try:
        original = path.read_bytes()
        with pikepdf.open(io.BytesIO(original)) as pdf:
            files = _attachments(pdf)
    except (OSError, pikepdf.PdfError) as error:
        why = str(error).rsplit(": ", 1)[-1]  # (pikepdf's message names its stream first)
        raise VerifyError(f"cannot be read as a PDF ({why})") from None
    record = _record(files.pop(RECORD_NAME, None))
    with tempfile.TemporaryDirectory(prefix="exporter-verify-") as temporary:
        folder = Path(temporary)
        checks = _lay_out(files, record, folder / "kept")
        if all(check.verdict == "ok" for check in checks):
            rebuilt = _rebuild(record, folder / "kept", folder / "out")
            found = next((data for name, data in rebuilt.items() if name.endswith(".pdf")), b"")
            checks.append(Check(path.name, _sha(original), _sha(found) if found else "",
                                "ok" if found == original else "differs" if found else "missing"))
    return Verdict(path, tuple(checks), tuple(_notes(record)))


def _verify_bag(path: Path) -> Verdict:
    import bagit

    if not (path / "bagit.txt").is_file():
        raise VerifyError("is a folder but not a bag (no bagit.txt)")
    if any(item.is_symlink() or not (item.is_file() or item.is_dir()) for item in path.rglob("*")):
        raise VerifyError("the bag holds links or special files; a bag to verify holds files only")
    from .fixity import quiet

    try:
        with quiet(logging.getLogger("bagit")):
            bagit.Bag(str(path)).validate(processes=1)
    except bagit.BagValidationError as error:
        return Verdict(path, tuple(_bag_failures(error)))
    except bagit.BagError as error:
        raise VerifyError(f"not a valid bag: {error}") from None
    record = _record(_bounded_read(path / RECORD_NAME, MAX_RECORD_BYTES))
    builds = record.get("builds")
    if record.get("format") != RECORD_FORMAT or not isinstance(builds, list) or not builds:
        raise VerifyError(f"{RECORD_NAME} names no builds")
    checks: list[Check] = []
    named: set[str] = set()
    for number, build in enumerate(builds):
        if not isinstance(build, dict) or not isinstance(build.get("editions"), dict) \
                or not build["editions"]:
            raise VerifyError(f"build {number + 1} of {RECORD_NAME} names no editions")
        inputs = _inputs(build)
        files, total = {}, 0
        for name in inputs:
            files[name] = _bounded_read(path / "data" / safe_name(name), MAX_FILE_BYTES)
            total += len(files[name])
            if total > MAX_TOTAL_BYTES:
                raise VerifyError(f"the inputs of build {number + 1} pass the size limit of verify")
        with tempfile.TemporaryDirectory(prefix="exporter-verify-") as temporary:
            folder = Path(temporary)
            laid = _lay_out(files, build, folder / "kept")
            rebuilt = _rebuild(build, folder / "kept", folder / "out")
        del files
        checks += [check for check in laid if check.verdict != "ok"]
        for name, digest in sorted(build["editions"].items()):
            kept = path / "data" / "editions" / str(name)
            named.add(str(name))
            data = rebuilt.get(str(name))
            found = _sha(data) if data is not None else ""
            held = _sha(_bounded_read(kept, MAX_TOTAL_BYTES)) if kept.is_file() else ""
            verdict = ("missing" if data is None or not held
                       else "ok" if found == held == digest else "differs")
            checks.append(Check(f"data/editions/{name}", held or str(digest), found, verdict))
    for extra in sorted((path / "data" / "editions").glob("*")):
        if extra.name not in named:
            checks.append(Check(f"data/editions/{extra.name}", "", "", "unexpected"))
    return Verdict(path, tuple(checks), tuple(note for build in builds for note in _notes(build)))


def _bag_failures(error: Any) -> list[Check]:
    """The files a bag's manifests name wrongly, as checks."""
    import bagit

    checks: list[Check] = []
    for detail in error.details or []:
        if any(check.file == getattr(detail, "path", None) for check in checks):
            continue  # (one row a file, though each algorithm finds it)
        if isinstance(detail, bagit.ChecksumMismatch):
            checks.append(Check(detail.path, detail.expected, detail.found, "differs"))
        elif isinstance(detail, bagit.FileMissing):
            checks.append(Check(detail.path, "", "", "missing"))
        elif isinstance(detail, bagit.UnexpectedFile):
            checks.append(Check(detail.path, "", "", "unexpected"))
    return checks or [Check("(bag)", "", str(error), "differs")]


def _attachments(pdf: Any) -> dict[str, bytes]:
    """The PDF's attached files by name, decoded within the limits."""

    try:
        return _read_attachments(pdf)
    except (KeyError, AttributeError, TypeError, ValueError) as error:
        raise VerifyError(f"an attachment of the PDF is malformed ({error!r})") from None


def _read_attachments(pdf: Any) -> dict[str, bytes]:
    import pikepdf

    files: dict[str, bytes] = {}
    total = 0
    for name, spec in pdf.attachments.items():
        if len(files) >= MAX_FILES:
            raise VerifyError(f"more than {MAX_FILES} attached files")
        stream = spec.get_file().obj
        raw = stream.read_raw_bytes()
        filters = stream.get("/Filter")
        if filters is None:
            data = raw
        elif filters in (pikepdf.Name.FlateDecode, pikepdf.Array([pikepdf.Name.FlateDecode])):
            inflater = zlib.decompressobj()
            try:
                data = inflater.decompress(raw, MAX_FILE_BYTES + 1)
            except zlib.error as error:
                raise VerifyError(f"attachment {name!r} cannot be decoded: {error}") from None
        else:
            raise VerifyError(f"attachment {name!r} is stored with {filters}, not read here")
        total += len(data)
        if len(data) > MAX_FILE_BYTES or total > MAX_TOTAL_BYTES:
            raise VerifyError(f"attachment {name!r} passes the size limit of verify")
        files[str(name)] = data
    return files


def _record(data: bytes | None) -> dict[str, Any]:
    if data is None:
        raise VerifyError(f"holds no {RECORD_NAME}: it was not made by exporter's archive "
                          "edition or --bag")
    if len(data) > MAX_RECORD_BYTES:
        raise VerifyError(f"{RECORD_NAME} is larger than {MAX_RECORD_BYTES >> 20} MiB")
    try:
        record = json.loads(data)
    except (ValueError, RecursionError) as error:
        raise VerifyError(f"{RECORD_NAME} is not JSON: {error}") from None
    if not isinstance(record, dict) or record.get("format") != RECORD_FORMAT:
        raise VerifyError(f"{RECORD_NAME} is not a record this tool reads ({RECORD_FORMAT})")
    return record


def _inputs(record: dict[str, Any]) -> dict[str, str]:
    inputs = record.get("inputs")
    if not isinstance(inputs, dict) or not all(isinstance(v, str) for v in inputs.values()):
        raise VerifyError(f"{RECORD_NAME} lists no inputs")
    if len(inputs) > MAX_FILES:
        raise VerifyError(f"{RECORD_NAME} lists more than {MAX_FILES} inputs")
    return {str(name): value for name, value in inputs.items()}


def _lay_out(files: dict[str, bytes], record: dict[str, Any], folder: Path) -> list[Check]:
    """Write the kept *files* into *folder* under their names; check each against *record*."""
    inputs = _inputs(record)
    checks = []
    for name, digest in sorted(inputs.items()):
        target = folder / safe_name(name)
        data = files.get(name)
        if data is None:
            checks.append(Check(name, digest, "", "missing"))
            continue
        found = _sha(data)
        checks.append(Check(name, digest, found, "ok" if found == digest else "differs"))
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        except OSError as error:
            raise VerifyError(f"the archive's file {name!r} cannot be laid out: "
                              f"{error.strerror or error}") from None
    checks += [Check(name, "", _sha(files[name]), "unexpected") for name in sorted(files)
               if name not in inputs]
    return checks


def _rebuild(record: dict[str, Any], folder: Path, out: Path) -> dict[str, bytes]:
    """Build the editions again from the kept inputs in *folder*; return them by file name."""
    from . import pipeline

    try:
        # (a record from before the page list was an option: the EPUB had one beside a PDF)
        settings = {key: record["options"][key] for key in KEPT_OPTIONS
                    if key in record["options"] or key != "page_list"}
        settings["formats"] = tuple(settings["formats"])
        settings.setdefault("page_list", "pdf" in settings["formats"])
        sheets = tuple(folder / safe_name(name) for name in record["stylesheets"])
        articles = [folder / safe_name(name) for name in record["articles"]]
        book = record["book"]
        options = Options(**settings, user_stylesheets=sheets, reuse=False)
        if not articles:
            raise VerifyError(f"{RECORD_NAME} names no article")
        if book is None:
            result = pipeline.build(articles[0], out, options=options)
        elif book.get("file"):
            given = [folder / safe_name(name) for name in book.get("given") or []]
            result = pipeline.build_book(given, out, book_file=folder / safe_name(book["file"]),
                                         options=options)
        else:
            result = pipeline.build_book(articles, out, title=str(book["title"]), options=options)
    except VerifyError:
        raise
    except ExporterError as error:
        # (named as the archive names the file, not by the temporary folder it was laid out in)
        raise VerifyError("its kept inputs do not build: "
                          + str(error).replace(f"{folder}/", "").replace(str(folder), "")) from None
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError, OSError) as error:
        raise VerifyError(f"{RECORD_NAME} is malformed ({error!r})") from None
    return {output.path.name: output.path.read_bytes() for output in result.outputs}


def _notes(record: dict[str, Any]) -> list[str]:
    changed = tool_differences(record)
    if not changed:
        return []
    return ["built with other versions than now, which can explain a difference: "
            + ", ".join(changed)]


def _bounded_read(path: Path, limit: int) -> bytes:
    if path.is_symlink() or not path.is_file():
        raise VerifyError("is not a regular file in the archive", path=path)
    if path.stat().st_size > limit:
        raise VerifyError(f"is larger than the {limit >> 20} MiB verify reads", path=path)
    return path.read_bytes()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
