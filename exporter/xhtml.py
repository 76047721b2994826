"""Body fragments as markup that is both well-formed XML (for the EPUB) and HTML (for the
other editions): empty non-void elements are written ``<td></td>``, never ``<td/>``."""

from __future__ import annotations

import re
from html import escape

from lxml import etree
from lxml import html as lxml_html

# Runs of collapsible white space (CSS white-space: normal).
_SPACES = re.compile(r"[ \t\n\r]+")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}  # fmt: skip
#: Elements that hold only phrasing content: a block inside one is invalid XHTML.
PHRASING_ONLY = {"p", "pre", "a", "abbr", "b", "bdi", "bdo", "cite", "code", "dfn", "em", "i", "kbd",
                 "mark", "q", "rp", "rt", "ruby", "s", "samp", "small", "span", "strong", "sub",
                 "sup", "time", "u", "var", "caption", "dt", "h1", "h2", "h3", "h4", "h5", "h6",
                 "summary", "figcaption"}  # fmt: skip
BLOCKS = {"address", "aside", "blockquote", "details", "div", "dl", "figure", "hr", "ol", "p",
          "pre", "section", "table", "ul", "h1", "h2", "h3", "h4", "h5", "h6"}  # fmt: skip
_BLOCK_PARTS = ("li", "dt", "dd", "figcaption", "caption", "thead", "tbody", "tfoot", "tr", "th", "td")


def parse_fragment(markup: str) -> etree._Element:
    """Parse HTML *markup* into a ``<div>`` holding its elements; ValueError where libxml2
    would keep only part of it (at a limit such as nesting)."""
    if not markup.strip():
        return etree.Element("div")
    parser = lxml_html.HTMLParser(huge_tree=True)  # (else it stops at 256 levels, silently)
    root: etree._Element = lxml_html.fragment_fromstring(markup, create_parent="div", parser=parser)
    for entry in parser.error_log:
        if entry.type_name == "ERR_RESOURCE_LIMIT":
            raise ValueError(entry.message)
    return root


def repair_content_model(root: etree._Element) -> None:
    """Mend raw HTML that puts blocks inside phrasing elements (``<p><b>..<table>``), which
    strict EPUB readers refuse: a ``p`` or ``pre`` becomes a ``div``, others are unwrapped."""
    elements = list(root.iter(etree.Element))
    # Which elements hold a block, children first; mending keeps that true of the rest.
    holding: set[etree._Element] = set()
    for element in reversed(elements):
        if any(child in holding or child.tag in BLOCKS for child in element):
            holding.add(element)
    for element in elements:
        if element in holding and element.tag in PHRASING_ONLY:
            if element.tag in ("p", "pre"):
                element.tag = "div"
            else:
                unwrap(element)


def unwrap(element: etree._Element) -> None:
    """Replace *element* by its text and children."""
    parent = element.getparent()
    if parent is not None:
        element.tag = "exporter-unwrapped"
        etree.strip_tags(parent, "exporter-unwrapped")


def serialize_fragment(root: etree._Element) -> str:
    """The children of *root* as XML that an HTML parser reads the same way."""
    for element in root.iter():
        if element.tag not in VOID and len(element) == 0 and element.text is None:
            element.text = ""
    return escape(root.text or "", quote=False) + "".join(
        etree.tostring(child, encoding="unicode", method="xml", with_tail=True) for child in root)


def prefix_ids(root: etree._Element, prefix: str) -> None:
    """Prefix every id and same-page link under *root*, so articles can share one page."""
    for element in root.iter(etree.Element) if prefix else ():
        if element.get("id"):
            element.set("id", prefix + element.get("id", ""))
        href = element.get("href")
        if href and href.startswith("#") and len(href) > 1:
            element.set("href", "#" + prefix + href[1:])


def words_without_calls(element: etree._Element) -> str:
    """The words of *element* but its notes' calls: what contents, bookmarks and running heads show."""
    texts = element.xpath(".//text()[not(ancestor::a[@class='footnote-ref'])]")
    return " ".join("".join(map(str, texts)).split())  # type: ignore[arg-type]


def inline_footnotes(root: etree._Element) -> None:
    """Move each Python-Markdown footnote to its first call as a ``span.footnote``, which
    WeasyPrint's ``float: footnote`` sets at the foot of the call's page; later calls stay
    links. Both carry the HTML's number (``data-number``), so the PDF numbers as it does; a
    heading citing one keeps its words without it (``data-title``) for bookmarks and heads."""
    for heading in root.iter("h1", "h2", "h3", "h4", "h5", "h6"):
        if heading.find(".//a[@class='footnote-ref']") is not None:
            heading.set("data-title", words_without_calls(heading))
    blocks = [block for block in root.iter("div") if "footnote" in (block.get("class") or "").split()]
    notes: dict[str, etree._Element] = {}
    for block in blocks:
        for number, item in enumerate(block.findall("ol/li"), start=1):
            item.set("value", str(number))
            item.set("style", f"counter-reset: list-item {number - 1}")  # (WeasyPrint reads no value)
            notes[item.get("id", "")] = item
    placed: set[str] = set()
    for call in list(root.iter("sup")):
        link = call.find("a")
        target = "" if link is None else link.get("href", "").lstrip("#")
        if link is None or "footnote-ref" not in (link.get("class") or "") or target not in notes:
            continue
        if target in placed:  # A note cited again: a call to the note already placed.
            call.set("class", "footnote-call")
            continue
        placed.add(target)
        note = _footnote(notes[target])
        note.set("data-number", link.text or "")
        note.tail = call.tail
        call.getparent().replace(call, note)  # type: ignore[union-attr]
    for block in blocks:  # The notes no call cites follow the text, numbered as in the HTML.
        for item in block.findall("ol/li"):
            if item.get("id") in placed:
                item.getparent().remove(item)  # type: ignore[union-attr]
        block.set("class", "footnotes")
        if not block.findall("ol/li"):
            block.getparent().remove(block)  # type: ignore[union-attr]


def _footnote(item: etree._Element) -> etree._Element:
    """A footnote's list *item* as a ``span.footnote``: its first paragraph's content runs after
    the marker; its other blocks become spans of class ``footnote-block footnote-<tag>``, which
    CSS shows as blocks (a paragraph holds no blocks: a parser would end the call's paragraph at a
    list and spill the note into the text); their own classes stay."""
    note = etree.Element("span", {"class": "footnote", "id": item.get("id", "")})
    for backref in list(item.iter("a")):
        if "footnote-backref" in (backref.get("class") or ""):
            drop_keeping_tail(backref)
    if len(item) and item[0].tag == "p" and not (item.text or "").strip():
        first = item[0]
        item.remove(first)
        item.text = first.text
        item[0:0] = list(first)
    note.text = item.text
    note.extend(list(item))
    # The same text to a reader; WeasyPrint fails on a space before a line end in a footnote.
    for element in note.iter():
        in_code = any(ancestor.tag in ("pre", "code") for ancestor in element.iterancestors())
        if element.text and not in_code and element.tag not in ("pre", "code"):
            element.text = _SPACES.sub(" ", element.text)
        if element is not note and element.tail and not in_code:
            element.tail = _SPACES.sub(" ", element.tail)
    for element in note.iter(*BLOCKS, *_BLOCK_PARTS):
        element.set("class", f"footnote-block footnote-{element.tag} {element.get('class', '')}".rstrip())
        element.tag = "span"
    return note


def drop_keeping_tail(element: etree._Element) -> None:
    """Remove *element* and its trailing spaces, keeping the text after it."""
    parent = element.getparent()
    if parent is None:
        return
    tail = (element.tail or "").rstrip()
    previous = element.getprevious()
    if previous is not None:
        previous.tail = ((previous.tail or "") + tail).rstrip() or None
    else:
        parent.text = ((parent.text or "") + tail).rstrip() or None
    parent.remove(element)
