"""Parse and serialise body fragments as markup that is both well-formed XML and valid HTML.

EPUB content documents must be XML; the HTML and PDF editions are parsed as
HTML.  Writing empty non-void elements as ``<td></td>`` (never ``<td/>``)
lets one serialisation serve both.
"""

from __future__ import annotations

import re
from html import escape

from lxml import etree
from lxml import html as lxml_html

# Runs of collapsible white space (CSS white-space: normal).
_SPACES = re.compile(r"[ \t\n\r]+")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}  # fmt: skip


def parse_fragment(markup: str) -> etree._Element:
    """Parse HTML *markup* into a ``<div>`` holding its elements.

    Raises ValueError where the parser would give up part of the markup (it stops
    at a resource limit, such as nesting, and keeps only what came before).
    """
    if not markup.strip():
        return etree.Element("div")
    # (libxml2 stops at 256 levels without "huge", dropping the rest without an error.)
    parser = lxml_html.HTMLParser(huge_tree=True)
    root: etree._Element = lxml_html.fragment_fromstring(markup, create_parent="div", parser=parser)
    for entry in parser.error_log:
        if entry.type_name == "ERR_RESOURCE_LIMIT":
            raise ValueError(entry.message)
    return root


#: Elements that hold only phrasing content: a block inside one is invalid XHTML.
PHRASING_ONLY = {"p", "pre", "a", "abbr", "b", "bdi", "bdo", "cite", "code", "dfn", "em", "i", "kbd",
                 "mark", "q", "rp", "rt", "ruby", "s", "samp", "small", "span", "strong", "sub",
                 "sup", "time", "u", "var", "caption", "dt", "h1", "h2", "h3", "h4", "h5", "h6",
                 "summary", "figcaption"}  # fmt: skip
BLOCKS = {"address", "aside", "blockquote", "details", "div", "dl", "figure", "hr", "ol", "p",
          "pre", "section", "table", "ul", "h1", "h2", "h3", "h4", "h5", "h6"}  # fmt: skip


def repair_content_model(root: etree._Element) -> None:
    """Mend raw HTML that puts blocks inside phrasing elements (``<p><b>..<table>``).

    A paragraph (or ``pre``) holding a block becomes a ``div``; any other phrasing element
    holding one is unwrapped, its content kept.  Strict EPUB readers need this.
    """
    elements = list(root.iter())
    # Which elements hold a block, found children first; mending keeps that true of the rest
    # (an unwrapped element's children stay inside its ancestors; a <p> is a block already).
    holding: set[etree._Element] = set()
    for element in reversed(elements):
        if any(child in holding or (isinstance(child.tag, str) and child.tag in BLOCKS)
               for child in element):
            holding.add(element)
    for element in elements:
        if element in holding and isinstance(element.tag, str) and element.tag in PHRASING_ONLY:
            if element.tag in ("p", "pre"):
                element.tag = "div"
            else:
                unwrap(element)


def unwrap(element: etree._Element) -> None:
    """Replace *element* by its text and children."""
    parent = element.getparent()
    if parent is None:
        return
    index = parent.index(element)
    text, tail = element.text or "", element.tail or ""
    previous = element.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "") + text
    else:
        parent.text = (parent.text or "") + text
    children = list(element)
    parent.remove(element)
    for offset, child in enumerate(children):
        parent.insert(index + offset, child)
    if children:
        children[-1].tail = (children[-1].tail or "") + tail
    elif previous is not None:
        previous.tail = (previous.tail or "") + tail
    else:
        parent.text = (parent.text or "") + tail


def serialize_fragment(root: etree._Element) -> str:
    """The children of *root* as XML that an HTML parser reads the same way."""
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        if element.tag not in VOID and len(element) == 0 and element.text is None:
            element.text = ""
    text = escape(root.text or "", quote=False)
    return text + "".join(
        etree.tostring(child, encoding="unicode", method="xml", with_tail=True) for child in root
    )


def prefix_ids(root: etree._Element, prefix: str) -> None:
    """Prefix every id and same-page link under *root*, so articles can share one page."""
    if not prefix:
        return
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        if element.get("id"):
            element.set("id", prefix + element.get("id", ""))
        href = element.get("href")
        if href and href.startswith("#") and len(href) > 1:
            element.set("href", "#" + prefix + href[1:])


def _fold_spaces(note: etree._Element) -> None:
    """Fold each run of spaces and line ends in *note*'s prose (not code) into one space.

    The same text to a reader; WeasyPrint 70 fails on a space before a line end inside a
    ``float: footnote`` element ("Got ' \\n' between two lines").
    """
    code = ("pre", "code")
    for element in note.iter():
        in_code = any(ancestor.tag in code for ancestor in element.iterancestors())
        if element.text and not in_code and element.tag not in code:
            element.text = _SPACES.sub(" ", element.text)
        if element is not note and element.tail and not in_code:
            element.tail = _SPACES.sub(" ", element.tail)


def inline_footnotes(root: etree._Element) -> None:
    """Move each Python-Markdown footnote to its call, as a ``span.footnote`` for paged media.

    WeasyPrint's ``float: footnote`` sets such a span at the foot of the page of its call.
    """
    notes: dict[str, etree._Element] = {}
    for block in list(root.iter("div")):
        if "footnote" not in (block.get("class") or "").split():
            continue
        for item in block.iter("li"):
            notes[item.get("id", "")] = item
        parent = block.getparent()
        if parent is not None:
            parent.remove(block)
    for call in list(root.iter("sup")):
        link = call.find("a")
        if link is None or "footnote-ref" not in (link.get("class") or ""):
            continue
        found = notes.get(link.get("href", "").lstrip("#"))
        if found is None:
            continue
        item = found
        note = etree.Element("span", {"class": "footnote", "id": item.get("id", "")})
        for backref in list(item.iter("a")):
            if "footnote-backref" in (backref.get("class") or ""):
                drop_keeping_tail(backref)
        paragraphs = [child for child in item if child.tag == "p"]
        if len(paragraphs) == len(item) and paragraphs:
            # One or more paragraphs: keep their inline content, separated by spaces.
            for number, paragraph in enumerate(paragraphs):
                _append_text(note, (" " if number else "") + (paragraph.text or ""))
                for child in list(paragraph):
                    note.append(child)
        else:
            _append_text(note, item.text or "")
            for child in list(item):
                note.append(child)
        _fold_spaces(note)
        note.tail = call.tail
        parent = call.getparent()
        if parent is not None:
            parent.replace(call, note)


def _append_text(element: etree._Element, text: str) -> None:
    if len(element):
        last = element[-1]
        last.tail = (last.tail or "") + text
    else:
        element.text = (element.text or "") + text


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
