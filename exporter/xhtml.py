"""Parse and serialise body fragments as markup that is both well-formed XML and valid HTML.

EPUB content documents must be XML; the HTML and PDF editions are parsed as
HTML.  Writing empty non-void elements as ``<td></td>`` (never ``<td/>``)
lets one serialisation serve both.
"""

from __future__ import annotations

from html import escape

from lxml import etree
from lxml import html as lxml_html

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}  # fmt: skip


def parse_fragment(markup: str) -> etree._Element:
    """Parse HTML *markup* into a ``<div>`` holding its elements."""
    if not markup.strip():
        return etree.Element("div")
    root: etree._Element = lxml_html.fragment_fromstring(markup, create_parent="div")
    return root


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
