"""``exporter verify``: an archive proves itself by being built again from what it keeps.

An archive is hostile input: sizes are bounded, names cannot leave the temporary folder,
links are refused, nothing is fetched.
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from .archive import KEPT_OPTIONS, RECORD_FORMAT, RECORD_NAME
from .errors import ExporterError, VerifyError
from .options import Options

if TYPE_CHECKING:
    from .session import Session

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


def verify(path: Path, session: Session | None = None) -> Verdict:
    """Verify the bag or archive PDF at *path*, rebuilding in *session* (warm fonts) if given;
    :class:`VerifyError` when it cannot be read."""
    try:
        return _verify_bag(path, session) if path.is_dir() else _verify_pdf(path, session)
    except VerifyError as error:
        error.path = error.path or path
        raise
    except OSError as error:
        raise VerifyError(f"cannot be read: {error.strerror or error}", path=path) from None


def _verify_pdf(path: Path, session: Session | None) -> Verdict:
    import pikepdf

    try:
        original = path.read_bytes()
        with pikepdf.open(io.BytesIO(original)) as pdf:
            files = _attachments(pdf)
    except (OSError, pikepdf.PdfError) as error:
        why = str(error).rsplit(": ", 1)[-1]  # (pikepdf's message names its stream first)
        raise VerifyError(f"cannot be read as a PDF ({why})") from None
    record = _record(files.pop(RECORD_NAME, None))
    checks = _input_checks(files, record)
    if all(check.verdict == "ok" for check in checks):  # (the PDF rebuilt is the whole file's peer)
        found = next((data for name, data in _build(record, files, session).items()
                      if name.endswith(".pdf")), None)
        checks.append(_check(path.name, _sha(original), found))
    return Verdict(path, tuple(checks), _notes(record))


def _verify_bag(path: Path, session: Session | None) -> Verdict:
    import bagit

    from .fixity import quiet

    if not (path / "bagit.txt").is_file():
        raise VerifyError("is a folder but not a bag (no bagit.txt)")
    if any(item.is_symlink() or not (item.is_file() or item.is_dir()) for item in path.rglob("*")):
        raise VerifyError("the bag holds links or special files; a bag to verify holds files only")
    try:
        with quiet("bagit"):
            bagit.Bag(str(path)).validate(processes=1)
    except bagit.BagValidationError as error:
        return Verdict(path, _bag_failures(error))
    except bagit.BagError as error:
        raise VerifyError(f"not a valid bag: {error}") from None
    builds = _record(_bounded_read(path / RECORD_NAME, MAX_RECORD_BYTES)).get("builds")
    if not isinstance(builds, list) or not builds:
        raise VerifyError(f"{RECORD_NAME} names no builds")
    checks: list[Check] = []
    for number, build in enumerate(builds, start=1):
        if not isinstance(build, dict) or not isinstance(build.get("editions"), dict) \
                or not build["editions"]:
            raise VerifyError(f"build {number} of {RECORD_NAME} names no editions")
        files: dict[str, bytes] = {}
        for name in _inputs(build):
            files[name] = _bounded_read(path / "data" / safe_name(name), MAX_FILE_BYTES)
            if sum(map(len, files.values())) > MAX_TOTAL_BYTES:
                raise VerifyError(f"the inputs of build {number} pass the size limit of verify")
        checks += [check for check in _input_checks(files, build) if check.verdict != "ok"]
        rebuilt = _build(build, files, session)
        for name, digest in sorted(build["editions"].items()):
            kept = path / "data" / "editions" / str(name)
            data = rebuilt.get(str(name))
            found = _sha(data) if data is not None else ""
            held = _sha(_bounded_read(kept, MAX_TOTAL_BYTES)) if kept.is_file() else ""
            verdict = ("missing" if data is None or not held
                       else "ok" if found == held == digest else "differs")
            checks.append(Check(f"data/editions/{name}", held or str(digest), found, verdict))
    named = {str(name) for build in builds for name in build["editions"]}
    checks += [Check(f"data/editions/{extra.name}", "", "", "unexpected")
               for extra in sorted((path / "data" / "editions").glob("*")) if extra.name not in named]
    return Verdict(path, tuple(checks), tuple(note for build in builds for note in _notes(build)))


def _bag_failures(error: Any) -> tuple[Check, ...]:
    """The files a bag's manifests name wrongly, as checks (one row a file, whichever algorithm)."""
    import bagit

    verdicts = {bagit.ChecksumMismatch: "differs", bagit.FileMissing: "missing",
                bagit.UnexpectedFile: "unexpected"}
    checks: dict[str, Check] = {}
    for detail in error.details or []:
        if type(detail) in verdicts:
            checks.setdefault(detail.path, Check(detail.path, getattr(detail, "expected", ""),
                                                 getattr(detail, "found", ""), verdicts[type(detail)]))
    return tuple(checks.values()) or (Check("(bag)", "", str(error), "differs"),)


def _attachments(pdf: Any) -> dict[str, bytes]:
    """The PDF's attached files by name, decoded within the limits."""
    import pikepdf

    flate = pikepdf.Name.FlateDecode
    files: dict[str, bytes] = {}
    try:
        for name, spec in pdf.attachments.items():
            if len(files) >= MAX_FILES:
                raise VerifyError(f"more than {MAX_FILES} attached files")
            stream = spec.get_file().obj
            filters = stream.get("/Filter")
            if filters is not None and filters not in (flate, pikepdf.Array([flate])):
                raise VerifyError(f"attachment {name!r} is stored with {filters}, not read here")
            data = stream.read_raw_bytes()
            try:  # (bounded: a small stream must not inflate into gigabytes)
                data = data if filters is None else zlib.decompressobj().decompress(
                    data, MAX_FILE_BYTES + 1)
            except zlib.error as error:
                raise VerifyError(f"attachment {name!r} cannot be decoded: {error}") from None
            files[str(name)] = data
            if len(data) > MAX_FILE_BYTES or sum(map(len, files.values())) > MAX_TOTAL_BYTES:
                raise VerifyError(f"attachment {name!r} passes the size limit of verify")
    except (KeyError, AttributeError, TypeError, ValueError) as error:
        raise VerifyError(f"an attachment of the PDF is malformed ({error!r})") from None
    return files


def _record(data: bytes | None) -> dict[str, Any]:
    """The record an archive keeps, parsed and of the format this tool reads."""
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
    """The inputs a build record names, with their SHA-256."""
    inputs = record.get("inputs")
    if not isinstance(inputs, dict) or not all(isinstance(v, str) for v in inputs.values()):
        raise VerifyError(f"{RECORD_NAME} lists no inputs")
    if len(inputs) > MAX_FILES:
        raise VerifyError(f"{RECORD_NAME} lists more than {MAX_FILES} inputs")
    return {str(name): value for name, value in inputs.items()}


def _input_checks(files: dict[str, bytes], record: dict[str, Any]) -> list[Check]:
    """The kept *files* against the inputs a build *record* names, every name judged first."""
    inputs = _inputs(record)
    for name in inputs:
        safe_name(name)
    return [*(_check(name, digest, files.get(name)) for name, digest in sorted(inputs.items())),
            *(Check(name, "", _sha(files[name]), "unexpected") for name in sorted(files)
              if name not in inputs)]


def _build(record: dict[str, Any], files: dict[str, bytes],
           session: Session | None) -> dict[str, bytes]:
    """Build the editions of a *record* again from the kept *files*; return them by file name."""
    from . import pipeline

    with tempfile.TemporaryDirectory(prefix="exporter-verify-") as temporary:
        folder, out = Path(temporary) / "kept", Path(temporary) / "out"
        for name, data in sorted(files.items()):
            target = folder / safe_name(name)
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            except OSError as error:
                raise VerifyError(f"the archive's file {name!r} cannot be laid out: "
                                  f"{error.strerror or error}") from None
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
                result = pipeline.build(articles[0], out, options=options, session=session)
            elif book.get("file"):
                given = [folder / safe_name(name) for name in book.get("given") or []]
                result = pipeline.build_book(given, out, book_file=folder / safe_name(book["file"]),
                                             options=options, session=session)
            else:
                result = pipeline.build_book(articles, out, title=str(book["title"]), options=options,
                                             session=session)
        except VerifyError:
            raise
        except ExporterError as error:
            # (named as the archive names the file, not by the temporary folder it was laid out in)
            raise VerifyError("its kept inputs do not build: "
                              + str(error).replace(f"{folder}/", "").replace(str(folder), "")) from None
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError, OSError) as error:
            raise VerifyError(f"{RECORD_NAME} is malformed ({error!r})") from None
        return {output.path.name: output.path.read_bytes() for output in result.outputs}


def safe_name(name: str) -> PurePosixPath:
    """*name* from an archive as a relative path that stays in its folder; else refused."""
    path = PurePosixPath(name)
    if (not name or "\\" in name or "\0" in name or path.is_absolute() or len(name) > 1024
            or any(part in ("", ".", "..") or len(part) > 255 for part in path.parts)
            or path.parts[0] not in ("sources", "styles")):
        raise VerifyError(f"the archive names a file {name!r} outside its sources and styles")
    return path


def _notes(record: dict[str, Any]) -> tuple[str, ...]:
    """A note naming the tools whose versions differ from the record's, if any."""
    from .cache import tool_versions

    recorded = record["tool"] if isinstance(record.get("tool"), dict) else {}
    now = tool_versions()
    changed = [f"{name} {recorded.get(name)} → {now.get(name)}"
               for name in sorted({*recorded, *now}) if recorded.get(name) != now.get(name)]
    return (f"built with other versions than now, which can explain a difference: "
            f"{', '.join(changed)}",) if changed else ()


def _check(file: str, expected: str, data: bytes | None) -> Check:
    """The check of one file the archive names: *data* found (None: absent) against *expected*."""
    found = _sha(data) if data is not None else ""
    return Check(file, expected, found, "missing" if data is None
                 else "ok" if found == expected else "differs")


def _bounded_read(path: Path, limit: int) -> bytes:
    if path.is_symlink() or not path.is_file():
        raise VerifyError("is not a regular file in the archive", path=path)
    if path.stat().st_size > limit:
        raise VerifyError(f"is larger than the {limit >> 20} MiB verify reads", path=path)
    return path.read_bytes()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
