"""PDF checks with pikepdf: fonts, tags, language, title, identification and page boxes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .findings import Finding, Severity

if TYPE_CHECKING:
    import pikepdf

_PDFA_NS = "http://www.aiim.org/pdfa/ns/id/"
_PDFUA_NS = "http://www.aiim.org/pdfua/ns/id/"
_PDFX_NS = ("http://www.npes.org/pdfx/ns/id/", "http://ns.adobe.com/pdfx/1.3/")
_DC_TITLE = "{http://purl.org/dc/elements/1.1/}title"
_RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")
_BOXES = ("/CropBox", "/BleedBox", "/TrimBox", "/ArtBox")
_TOLERANCE = Decimal("0.01")  # points; rounding in box coordinates is not a fault


# --- PDF -------------------------------------------------------------------------------------


def check_pdf(path: Path, name: str) -> list[Finding]:
    """Open the PDF with pikepdf and run every PDF check on it."""
    try:
        import pikepdf
    except ImportError:
        return [Finding("PDF-CHECKER-MISSING", "error", name,
                        "the PDF was not checked: the pikepdf package is missing; install it "
                        "with `pip install pikepdf`")]
    try:
        with pikepdf.open(path) as pdf:
            return _PdfChecks(pdf, name).run()
    except pikepdf.PasswordError:
        return [Finding("PDF-ENCRYPTED", "error", name,
                        "the PDF needs a password to open, so it cannot be checked")]
    except (pikepdf.PdfError, OSError, ValueError) as error:
        detail = str(error).removeprefix(f"{path}: ")
        return [Finding("PDF-INVALID", "error", name, f"not a readable PDF: {detail}")]


class _PdfChecks:
    """The checks on one open PDF, sharing what it claims to conform to."""

    def __init__(self, pdf: pikepdf.Pdf, name: str):
        self.pdf = pdf
        self.name = name
        self.findings: list[Finding] = []
        self.xmp = _xmp(pdf)
        self.pdfa = self._pdfa()
        self.pdfua = self.xmp.get(f"{{{_PDFUA_NS}}}part", "").strip()
        self.pdfx = self._pdfx()
        # A PDF/X file is a print master: missing accessibility features are then warnings,
        # unless it also claims PDF/UA or PDF/A level A, which require them.
        needs_access = bool(self.pdfua) or self.pdfa.upper().endswith("A") or not self.pdfx
        self.access: Severity = "error" if needs_access else "warning"

    def run(self) -> list[Finding]:
        """Every check, in the order a reader would want them."""
        self._identification()
        self._fonts()
        self._tagging()
        self._language()
        self._title()
        self._output_intents()
        self._boxes()
        return self.findings

    def add(self, code: str, severity: Severity, message: str) -> None:
        """Record one finding about this PDF."""
        self.findings.append(Finding(code, severity, self.name, message))

    def _pdfa(self) -> str:
        """The PDF/A level claimed in XMP, like ``3A``, or an empty string."""
        part = self.xmp.get(f"{{{_PDFA_NS}}}part", "").strip()
        conformance = self.xmp.get(f"{{{_PDFA_NS}}}conformance", "").strip()
        return f"{part}{conformance}" if part else ""

    def _pdfx(self) -> str:
        """The PDF/X version claimed in XMP or the document information, or an empty string."""
        for namespace in _PDFX_NS:
            value = self.xmp.get(f"{{{namespace}}}GTS_PDFXVersion", "").strip()
            if value:
                return value
        info = _text(self.pdf.trailer.get("/Info"), "/GTS_PDFXVersion")
        return info

    def _identification(self) -> None:
        """Report the standards the file claims, as information: only some are verified here."""
        if self.pdfa:
            self.add("PDF-A-ID", "info", f"identifies as PDF/A-{self.pdfa} (pdfaid in XMP); "
                     "a full conformance check needs a PDF/A validator such as veraPDF")
        if self.pdfua:
            self.add("PDF-UA-ID", "info", f"identifies as PDF/UA-{self.pdfua} (pdfuaid in XMP)")
        if self.pdfx:
            self.add("PDF-X-ID", "info", f"identifies as {self.pdfx} (GTS_PDFXVersion)")
        if (self.pdfa or self.pdfx) and self.pdf.is_encrypted:
            self.add("PDF-ENCRYPTED", "error", "PDF/A and PDF/X files must not be encrypted")

    def _fonts(self) -> None:
        """Every font the pages use must be embedded, so the file looks the same everywhere."""
        missing: dict[str, list[int]] = {}
        for number, page in enumerate(self.pdf.pages, start=1):
            for font in _page_fonts(page.obj):
                if not _embedded(font):
                    pages = missing.setdefault(_font_name(font), [])
                    if number not in pages:
                        pages.append(number)
        for font_name, pages in missing.items():
            self.add("PDF-FONT-NOT-EMBEDDED", "error",
                     f"font {font_name} is not embedded ({_pages(pages)})")

    def _tagging(self) -> None:
        """A tagged PDF has a structure tree and says so in MarkInfo; screen readers need both."""
        root = self.pdf.Root
        reasons = []
        if _as_dict(root.get("/StructTreeRoot")) is None:
            reasons.append("no StructTreeRoot")
        mark_info = _as_dict(root.get("/MarkInfo"))
        if mark_info is None or not bool(mark_info.get("/Marked", False)):
            reasons.append("MarkInfo /Marked is not true")
        if reasons:
            self.add("PDF-UNTAGGED", self.access, "not a tagged PDF: " + "; ".join(reasons))

    def _language(self) -> None:
        """The document language lets screen readers and hyphenation pick the right rules."""
        lang = _text(self.pdf.Root, "/Lang")
        if not lang:
            self.add("PDF-NO-LANG", self.access, "no document language (/Lang in the catalog)")
        elif not _LANGUAGE_TAG.match(lang):
            self.add("PDF-NO-LANG", "warning", f"/Lang {lang!r} is not a BCP 47 language tag")

    def _title(self) -> None:
        """A title in the metadata, shown by viewers in place of the file name."""
        info_title = _text(self.pdf.trailer.get("/Info"), "/Title")
        xmp_title = self.xmp.get(_DC_TITLE, "").strip()
        if not info_title and not xmp_title:
            self.add("PDF-NO-TITLE", "error",
                     "no title in the XMP metadata (dc:title) or the document information")
            return
        preferences = _as_dict(self.pdf.Root.get("/ViewerPreferences"))
        shown = preferences is not None and bool(preferences.get("/DisplayDocTitle", False))
        if not shown:
            self.add("PDF-NO-DISPLAY-TITLE", "error" if self.pdfua else "warning",
                     "ViewerPreferences /DisplayDocTitle is not true: viewers show the file name")

    def _output_intents(self) -> None:
        """PDF/A and PDF/X need an output intent of their own kind, naming the colour space."""
        kinds = set()
        for intent in _array(self.pdf.Root.get("/OutputIntents")):
            entry = _as_dict(intent)
            if entry is not None:
                kinds.add(str(entry.get("/S", "")))
        if self.pdfa and "/GTS_PDFA1" not in kinds:
            self.add("PDF-NO-OUTPUT-INTENT", "error",
                     f"PDF/A-{self.pdfa} needs an /OutputIntents entry with /S /GTS_PDFA1")
        if self.pdfx and "/GTS_PDFX" not in kinds:
            self.add("PDF-NO-OUTPUT-INTENT", "error",
                     f"{self.pdfx} needs an /OutputIntents entry with /S /GTS_PDFX")

    def _boxes(self) -> None:
        """Page boxes nest (crop, bleed, trim inside media); PDF/X pages need trim and bleed."""
        problems: dict[tuple[Severity, str], list[int]] = {}
        placement: Severity = "error" if self.pdfx else "warning"
        for number, page in enumerate(self.pdf.pages, start=1):
            for severity, problem in self._page_box_problems(page.obj, placement):
                problems.setdefault((severity, problem), []).append(number)
        for (severity, problem), pages in problems.items():
            self.add("PDF-BOXES", severity, f"{problem} ({_pages(pages)})")

    def _page_box_problems(self, page: Any, placement: Severity) -> Iterator[tuple[Severity, str]]:
        """What is wrong with one page's boxes, each with its severity."""
        media = _rect(_inherited(page, "/MediaBox"))
        if media is None:
            yield "error", "no valid MediaBox"
            return
        boxes: dict[str, tuple[Decimal, Decimal, Decimal, Decimal]] = {}
        for key in _BOXES:
            raw = _inherited(page, key) if key == "/CropBox" else page.get(key)
            if raw is None:
                continue
            box = _rect(raw)
            if box is None:
                yield "error", f"{key[1:]} is not a rectangle with an area"
            elif not _inside(box, media):
                yield placement, f"{key[1:]} extends outside the MediaBox"
            else:
                boxes[key] = box
        trim, bleed = boxes.get("/TrimBox"), boxes.get("/BleedBox")
        if trim is not None and bleed is not None and not _inside(trim, bleed):
            yield placement, "TrimBox extends outside the BleedBox"
        if self.pdfx:
            if page.get("/TrimBox") is None and page.get("/ArtBox") is None:
                yield "error", f"no TrimBox, which {self.pdfx} requires on every page"
            if page.get("/BleedBox") is None:
                yield "warning", "no BleedBox: printers will assume the page has no bleed"


def _as_dict(value: Any) -> Any:
    """*value* if it is a PDF dictionary, else None (pikepdf is imported only for PDFs)."""
    import pikepdf

    return value if isinstance(value, pikepdf.Dictionary) else None


def _array(value: Any) -> list[Any]:
    """The items of a PDF array, or nothing for any other object."""
    import pikepdf

    return list(value) if isinstance(value, pikepdf.Array) else []


def _text(container: Any, key: str) -> str:
    """A string or name stored under *key* of a PDF dictionary, stripped; empty when absent."""
    dictionary = _as_dict(container)
    if dictionary is None:
        return ""
    value = dictionary.get(key)
    if value is None:
        return ""
    return str(value).strip()


def _xmp(pdf: pikepdf.Pdf) -> dict[str, str]:
    """The XMP properties as ``{namespace}name`` to text; empty when absent or unreadable."""
    import pikepdf
    from lxml import etree

    stream = pdf.Root.get("/Metadata")
    if not isinstance(stream, pikepdf.Stream):
        return {}
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)
    try:
        root = etree.fromstring(stream.read_bytes().strip(), parser)
    except (pikepdf.PdfError, etree.XMLSyntaxError, ValueError):
        return {}  # an unreadable packet claims nothing
    properties: dict[str, str] = {}
    for description in root.iter(f"{{{_RDF_NS}}}Description"):
        for key, value in description.attrib.items():
            name = key.decode() if isinstance(key, bytes) else key
            if not name.startswith(f"{{{_RDF_NS}}}"):
                properties.setdefault(name, str(value).strip())
        for child in description:
            if isinstance(child.tag, str):
                properties.setdefault(child.tag, _xmp_text(child))
    return properties


def _xmp_text(element: Any) -> str:
    """A property's text: the x-default (or first) item of a list, else its own text."""
    items = list(element.iter(f"{{{_RDF_NS}}}li"))
    if items:
        default = [item for item in items if item.get(_XML_LANG) == "x-default"]
        element = (default or items)[0]
    return "".join(element.itertext()).strip()


def _inherited(page: Any, key: str) -> Any:
    """A page attribute, looked up through the page tree as PDF inheritance allows."""
    node, depth = _as_dict(page), 0
    while node is not None and depth < 64:
        value = node.get(key)
        if value is not None:
            return value
        node, depth = _as_dict(node.get("/Parent")), depth + 1
    return None


def _rect(value: Any) -> tuple[Decimal, Decimal, Decimal, Decimal] | None:
    """A PDF rectangle normalised to (left, bottom, right, top), or None if it is not one."""
    numbers = _array(value)
    if len(numbers) != 4:
        return None
    try:
        x0, y0, x1, y1 = (Decimal(str(float(number))) for number in numbers)
    except (TypeError, ValueError, ArithmeticError):
        return None
    box = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
    return box if box[2] - box[0] > 0 and box[3] - box[1] > 0 else None


def _inside(inner: tuple[Decimal, ...], outer: tuple[Decimal, ...]) -> bool:
    """Whether rectangle *inner* lies within *outer*, allowing for rounding."""
    return (inner[0] >= outer[0] - _TOLERANCE and inner[1] >= outer[1] - _TOLERANCE
            and inner[2] <= outer[2] + _TOLERANCE and inner[3] <= outer[3] + _TOLERANCE)


def _page_fonts(page: Any) -> Iterator[Any]:
    """Every font a page can draw with: its resources, its forms' and its annotations'."""
    seen: set[tuple[int, int]] = set()
    pending = [_inherited(page, "/Resources")]
    for annotation in _array(page.get("/Annots")):
        entry = _as_dict(annotation)
        appearances = _as_dict(entry.get("/AP")) if entry is not None else None
        for appearance in appearances.values() if appearances is not None else []:
            states = _as_dict(appearance)  # a dictionary of states, or one stream
            streams = states.values() if states is not None else [appearance]
            pending.extend(_stream_resources(stream) for stream in streams)
    while pending:
        resources = _as_dict(pending.pop())
        if resources is None:
            continue
        fonts = _as_dict(resources.get("/Font"))
        for value in fonts.values() if fonts is not None else []:
            font = _as_dict(value)
            if font is not None and _first_visit(font, seen):
                yield font
                if font.get("/Subtype") == "/Type3":
                    pending.append(font.get("/Resources"))
        xobjects = _as_dict(resources.get("/XObject"))
        if xobjects is not None:
            for xobject in xobjects.values():
                if _is_form(xobject) and _first_visit(xobject, seen):
                    pending.append(xobject.get("/Resources"))


def _stream_resources(stream: Any) -> Any:
    """The resources of an appearance stream, or None."""
    import pikepdf

    return stream.get("/Resources") if isinstance(stream, pikepdf.Stream) else None


def _is_form(xobject: Any) -> bool:
    """Whether an XObject is a form (which can use fonts) rather than an image."""
    import pikepdf

    return isinstance(xobject, pikepdf.Stream) and xobject.get("/Subtype") == "/Form"


def _first_visit(obj: Any, seen: set[tuple[int, int]]) -> bool:
    """Record an indirect object as visited; False if it was already (direct ones always pass)."""
    key = obj.objgen
    if key == (0, 0):
        return True
    if key in seen:
        return False
    seen.add(key)
    return True


def _embedded(font: Any) -> bool:
    """Whether a font's program is inside the file (Type 3 glyphs always are)."""
    subtype = font.get("/Subtype")
    if subtype == "/Type3":
        return True
    if subtype == "/Type0":
        descendants = _array(font.get("/DescendantFonts"))
        font = _as_dict(descendants[0]) if descendants else None
        if font is None:
            return False
    descriptor = _as_dict(font.get("/FontDescriptor"))
    return descriptor is not None and any(
        key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))


def _font_name(font: Any) -> str:
    """A font's PostScript name without the leading slash, or a placeholder."""
    name = font.get("/BaseFont")
    return str(name).removeprefix("/") if name is not None else "(unnamed)"


def _pages(numbers: list[int]) -> str:
    """Page numbers as compact ranges: ``page 3`` or ``pages 1-4, 7``."""
    ranges: list[str] = []
    start = previous = numbers[0]
    for number in [*numbers[1:], None]:
        if number is not None and number == previous + 1:
            previous = number
            continue
        ranges.append(str(start) if start == previous else f"{start}-{previous}")
        if number is not None:
            start = previous = number
    label = "page" if len(numbers) == 1 else "pages"
    return f"{label} {', '.join(ranges)}"

