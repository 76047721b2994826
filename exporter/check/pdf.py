"""PDF checks with pikepdf: fonts, tags, language, title, identification and page boxes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import suppress
from itertools import groupby
from pathlib import Path
from typing import Any

import pikepdf

from .findings import Finding, Severity

_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")
_TOLERANCE = 0.01  # points; rounding in box coordinates is not a fault
_Box = tuple[float, float, float, float]
_XMP_KEYS = ("pdfaid:part", "pdfaid:conformance", "pdfuaid:part", "pdfxid:GTS_PDFXVersion",
             "pdfx:GTS_PDFXVersion", "dc:title")


def check_pdf(path: Path, name: str) -> list[Finding]:
    """Open the PDF with pikepdf and run every PDF check on it."""
    try:
        with pikepdf.open(path) as pdf:  # (which copies inherited attributes onto each page)
            return [Finding(code, severity, name, message) for code, severity, message
                    in _problems(pdf)]
    except pikepdf.PasswordError:
        return [Finding("PDF-ENCRYPTED", "error", name,
                        "the PDF needs a password to open, so it cannot be checked")]
    except (pikepdf.PdfError, OSError, ValueError) as error:
        detail = str(error).removeprefix(f"{path}: ")
        return [Finding("PDF-INVALID", "error", name, f"not a readable PDF: {detail}")]


def _problems(pdf: pikepdf.Pdf) -> Iterator[tuple[str, Severity, str]]:
    """Every check as (code, severity, message), in the order a reader would want them."""
    xmp = _xmp(pdf)
    pdfa = xmp["pdfaid:part"] + xmp["pdfaid:conformance"] if xmp["pdfaid:part"] else ""
    pdfua = xmp["pdfuaid:part"]
    pdfx = (xmp["pdfxid:GTS_PDFXVersion"] or xmp["pdfx:GTS_PDFXVersion"]
            or _text(pdf.trailer.get("/Info"), "/GTS_PDFXVersion"))
    # A PDF/X file is a print master: missing accessibility features are then warnings,
    # unless it also claims PDF/UA or PDF/A level A, which require them.
    access: Severity = "error" if pdfua or pdfa.upper().endswith("A") or not pdfx else "warning"
    if pdfa:
        yield "PDF-A-ID", "info", (f"identifies as PDF/A-{pdfa} (pdfaid in XMP); a full "
                                   "conformance check needs a PDF/A validator such as veraPDF")
    if pdfua:
        yield "PDF-UA-ID", "info", f"identifies as PDF/UA-{pdfua} (pdfuaid in XMP)"
    if pdfx:
        yield "PDF-X-ID", "info", f"identifies as {pdfx} (GTS_PDFXVersion)"
    if (pdfa or pdfx) and pdf.is_encrypted:
        yield "PDF-ENCRYPTED", "error", "PDF/A and PDF/X files must not be encrypted"
    # Fonts must be embedded, so the file looks the same everywhere; page boxes must nest.
    fonts: dict[str, list[int]] = {}
    boxes: dict[tuple[Severity, str], list[int]] = {}
    for number, page in enumerate(pdf.pages, start=1):
        for scope in page.content_scopes():  # (the page, its forms, annotations, Type 3 glyphs)
            resources = scope.resources if scope.resources is not None else pikepdf.Dictionary()
            for font in resources.get_dict("/Font", {}).values():
                if isinstance(font, pikepdf.Dictionary) and not _embedded(font):
                    font_name = str(font.get("/BaseFont", "(unnamed)")).removeprefix("/")
                    if number not in fonts.setdefault(font_name, []):
                        fonts[font_name].append(number)
        for issue in _box_problems(page.obj, pdfx):
            boxes.setdefault(issue, []).append(number)
    for font_name, pages in fonts.items():
        yield "PDF-FONT-NOT-EMBEDDED", "error", f"font {font_name} is not embedded ({_pages(pages)})"
    # Tags, language and a displayed title: what screen readers and viewers need.
    root = pdf.Root
    untagged = [] if root.get_dict("/StructTreeRoot") is not None else ["no StructTreeRoot"]
    if not _flag(root.get("/MarkInfo"), "/Marked"):
        untagged.append("MarkInfo /Marked is not true")
    if untagged:
        yield "PDF-UNTAGGED", access, "not a tagged PDF: " + "; ".join(untagged)
    lang = _text(root, "/Lang")
    if not lang:
        yield "PDF-NO-LANG", access, "no document language (/Lang in the catalog)"
    elif not _LANGUAGE_TAG.match(lang):
        yield "PDF-NO-LANG", "warning", f"/Lang {lang!r} is not a BCP 47 language tag"
    if not _text(pdf.trailer.get("/Info"), "/Title") and not xmp["dc:title"]:
        yield ("PDF-NO-TITLE", "error",
               "no title in the XMP metadata (dc:title) or the document information")
    elif not _flag(root.get("/ViewerPreferences"), "/DisplayDocTitle"):
        yield ("PDF-NO-DISPLAY-TITLE", "error" if pdfua else "warning",
               "ViewerPreferences /DisplayDocTitle is not true: viewers show the file name")
    # PDF/A and PDF/X need an output intent of their own kind, naming the colour space.
    kinds = {str(intent.get("/S", "")) for intent in root.get_list("/OutputIntents", [])
             if isinstance(intent, pikepdf.Dictionary)}
    for claim, kind, label in ((pdfa, "/GTS_PDFA1", f"PDF/A-{pdfa}"), (pdfx, "/GTS_PDFX", pdfx)):
        if claim and kind not in kinds:
            yield "PDF-NO-OUTPUT-INTENT", "error", f"{label} needs an /OutputIntents entry with /S {kind}"
    for (severity, problem), pages in boxes.items():
        yield "PDF-BOXES", severity, f"{problem} ({_pages(pages)})"


def _box_problems(page: pikepdf.Dictionary, pdfx: str) -> Iterator[tuple[Severity, str]]:
    """What is wrong with one page's boxes; PDF/X pages also need a trim and a bleed box."""
    placement: Severity = "error" if pdfx else "warning"
    media = _rect(page.get("/MediaBox"))
    if media is None:
        yield "error", "no valid MediaBox"
        return
    boxes: dict[str, _Box] = {}
    for key in ("/CropBox", "/BleedBox", "/TrimBox", "/ArtBox"):
        if key not in page:
            continue
        box = _rect(page[key])
        if box is None:
            yield "error", f"{key[1:]} is not a rectangle with an area"
        elif not _inside(box, media):
            yield placement, f"{key[1:]} extends outside the MediaBox"
        else:
            boxes[key] = box
    trim, bleed = boxes.get("/TrimBox"), boxes.get("/BleedBox")
    if trim is not None and bleed is not None and not _inside(trim, bleed):
        yield placement, "TrimBox extends outside the BleedBox"
    if pdfx and "/TrimBox" not in page and "/ArtBox" not in page:
        yield "error", f"no TrimBox, which {pdfx} requires on every page"
    if pdfx and "/BleedBox" not in page:
        yield "warning", "no BleedBox: printers will assume the page has no bleed"


def _dict(value: Any) -> Any:
    """*value* if it is a PDF dictionary, else an empty one (a mistyped entry is not a crash)."""
    return value if isinstance(value, pikepdf.Dictionary) else {}


def _text(container: Any, key: str) -> str:
    """A string or a name under *key* of a PDF dictionary, stripped (a name keeps its slash, so a
    mistyped /Lang is reported as what it holds); empty when absent or of another type."""
    value = _dict(container).get(key)
    return str(value).strip() if isinstance(value, (pikepdf.String, pikepdf.Name)) else ""


def _flag(container: Any, key: str) -> bool:
    """Whether *key* of a PDF dictionary is true: a boolean, or a non-zero integer as some
    writers put; a name or a string (``/false``, ``(false)``) is not."""
    value = _dict(container).get(key)
    return value is True or (type(value) is int and value != 0)


def _xmp(pdf: pikepdf.Pdf) -> dict[str, str]:
    """The XMP properties the checks read, as stripped text; empty when absent or unreadable."""
    from ..fixity import quiet

    metadata: Any = {}
    if isinstance(pdf.Root.get("/Metadata"), pikepdf.Stream):
        with quiet("pikepdf"), suppress(pikepdf.PdfError, ValueError):
            metadata = pdf.open_metadata()
    return {key: _xmp_text(metadata.get(key)) for key in _XMP_KEYS}


def _xmp_text(value: Any) -> str:
    """A property as text: an array (pikepdf gives a Seq as a list, a Bag as a set) by its first
    item, a Bag's in sorted order, so that an empty item is no text and every run says the same."""
    if isinstance(value, (list, set)):
        value = next(iter(value if isinstance(value, list) else sorted(value, key=str)), None)
    return str(value or "").strip()


def _rect(value: Any) -> _Box | None:
    """A PDF rectangle normalised to (left, bottom, right, top), or None if it is not one."""
    if not isinstance(value, pikepdf.Array):
        return None
    try:
        x0, y0, x1, y1 = (float(number) for number in value)
    except (TypeError, ValueError):
        return None
    box = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
    return box if box[2] > box[0] and box[3] > box[1] else None


def _inside(inner: _Box, outer: _Box) -> bool:
    """Whether rectangle *inner* lies within *outer*, allowing for rounding."""
    return (inner[0] >= outer[0] - _TOLERANCE and inner[1] >= outer[1] - _TOLERANCE
            and inner[2] <= outer[2] + _TOLERANCE and inner[3] <= outer[3] + _TOLERANCE)


def _embedded(font: pikepdf.Dictionary) -> bool:
    """Whether a font's program is inside the file (Type 3 glyphs always are)."""
    if font.get("/Subtype") == "/Type3":
        return True
    if font.get("/Subtype") == "/Type0":
        descendant = (font.get_list("/DescendantFonts") or [None])[0]
        font = descendant if isinstance(descendant, pikepdf.Dictionary) else pikepdf.Dictionary()
    descriptor = font.get_dict("/FontDescriptor") or pikepdf.Dictionary()
    return any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))


def _pages(numbers: list[int]) -> str:
    """Page numbers as compact ranges: ``page 3`` or ``pages 1-4, 7``."""
    runs = [[number for _index, number in run]
            for _step, run in groupby(enumerate(numbers), lambda pair: pair[1] - pair[0])]
    ranges = [str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}" for run in runs]
    return f"{'page' if len(numbers) == 1 else 'pages'} {', '.join(ranges)}"
