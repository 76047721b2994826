"""The project's Python-Markdown extensions, and the configured converter.

Each change to Markdown's output is a Treeprocessor working on the element
tree: taking the leading ``# Title``, marking table headers, captions and
numeric cells.  :func:`make_markdown` returns a converter with everything a
reader expects (tables, footnotes, typographic quotes, heading ids, ...).
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as etree

from markdown import Markdown
from markdown.extensions import Extension
from markdown.extensions.toc import render_inner_html, strip_tags
from markdown.treeprocessors import Treeprocessor
from markdown.util import AtomicString

from ..errors import SourceError
from ..sanitize import sanitize_html
from .lists import ListIndentPreprocessor

# Cell texts that read as numbers: 1,234.5 -12% $30 +0.4 600-mile is not one.
_NUMERIC = re.compile(r"^[\s(]*[-+\u2212]?[$€£¥]?\d[\d,.\u202f\u00a0 ]*(?:%|[kKmM])?[)\s]*$")
#: Put before a heading id that would begin with a digit (XML names cannot).
DIGIT_PREFIX = "s-"
#: Tables of at most this many rows never break across pages.
SHORT_TABLE_ROWS = 12
_CAPTION = re.compile(r"^\s*(?:Table|:)\s*:\s*")
# A column's alignment as Python-Markdown writes it (style) or as HTML does (align).
_ALIGN = re.compile(r"(?:text-align:\s*)?\b(left|right|center)\b")
#: The widths (ems of the text) under which a table's rows become blocks: the stylesheets hold
#: one container query for each.  A table takes the largest it needs (its cells wrap a little
#: before it reflows); one that needs less than the first never reflows.
REFLOW_WIDTHS = (12, 18, 24, 32, 48)
# The estimate: average letters per em of the table's text (0.9 of the body's), padding, and
# how many letters of a cell should share a line before it wraps.
_EM_PER_CHAR = 0.5 * 0.9
_CELL_PADDING_EM = 0.6 * 0.9
_COMFORTABLE_CHARS = 12
_LONG_WORD = 14

# Typographic characters rather than entities: the output is XML, read by e-readers.
_SMARTY = {
    "mdash": "\u2014",
    "ndash": "\u2013",
    "ellipsis": "\u2026",
    "left-single-quote": "\u2018",
    "right-single-quote": "\u2019",
    "left-double-quote": "\u201c",
    "right-double-quote": "\u201d",
    "left-angle-quote": "\u00ab",
    "right-angle-quote": "\u00bb",
}
#: What each of smarty's patterns (quotes, dashes, ellipses; not angled quotes) needs in
#: the text to match at all.
_SMARTY_NEEDS = ("'", '"', "--", "...")


# Characters that may start an inline match; each match rebuilds the whole paragraph string,
# at a cost per character that depends on the pattern (links and emphasis cost the most).
_HEAVY_MARKERS = "[`*_"
_LIGHT_MARKERS = "<&\\\"'!"
_BRACKET = re.compile(r"\\.|[\[\]]", re.DOTALL)
_ESCAPED = re.compile(r"\\.", re.DOTALL)
# Estimated nanoseconds per unit of work, measured on Python-Markdown 3.11 (pessimistic).
_NS_PER_BRACKET_STEP = 300
_NS_PER_HEAVY_CHAR = 5
_NS_PER_LIGHT_CHAR = 2
# Allowed estimate: three seconds, plus two microseconds for each character of text.
_BUDGET_NS = 3_000_000_000
_BUDGET_NS_PER_CHAR = 2_000


class TooComplex(SourceError):
    """A paragraph whose inline parsing would take Python-Markdown minutes, refused instead.

    *excerpt* is the start of the paragraph, for finding its line in the source.
    """

    def __init__(self, message: str, excerpt: str):
        super().__init__(message)
        self.excerpt = excerpt


class BudgetProcessor(Treeprocessor):
    """Refuse text whose inline parsing cost grows with the square of its length.

    Python-Markdown scans from every ``[`` to its closing bracket, or to the end of
    the paragraph (upstream issue 798: 20,000 unclosed brackets take minutes), and
    rebuilds the paragraph string after every match (issue 1619).  This runs
    before the inline processor and estimates both costs on exactly the texts it
    will parse (code, fenced blocks and raw HTML blocks are already set aside).
    """

    def run(self, root: etree.Element) -> None:
        total_ns, length = 0, 0
        worst = (0, "", 0, 0)
        for element in root.iter():
            texts = (element.tail,) if element is root else (element.text, element.tail)
            for text in texts:
                if not text or isinstance(text, AtomicString):
                    continue
                steps = _bracket_steps(text) if "[" in text else 0
                # An escaped character is one cheap match, never the start of a link or emphasis.
                plain = _ESCAPED.sub("", text) if "\\" in text else text
                heavy = sum(plain.count(char) for char in _HEAVY_MARKERS)
                light = sum(text.count(char) for char in _LIGHT_MARKERS)
                rebuild = len(text) * (heavy * _NS_PER_HEAVY_CHAR + light * _NS_PER_LIGHT_CHAR)
                cost = steps * _NS_PER_BRACKET_STEP + rebuild
                total_ns += cost
                length += len(text)
                if cost > worst[0]:
                    worst = (cost, text, steps, heavy + light)
        if total_ns > _BUDGET_NS + _BUDGET_NS_PER_CHAR * length:
            cost, text, steps, markers = worst
            if steps * _NS_PER_BRACKET_STEP * 2 >= cost:
                why = ("so many unclosed or nested '[' brackets that Markdown would take minutes "
                       "to read it; write literal brackets as \\[ and \\]")
            else:
                why = (f"{markers} markup characters in {len(text)} characters, more than Markdown "
                       "can read in reasonable time; split it into shorter paragraphs")
            raise TooComplex(f"a paragraph holds {why}", text.lstrip()[:80])


def _bracket_steps(text: str) -> int:
    """Characters Python-Markdown's link parser steps over for the brackets of *text*."""
    steps, open_at = 0, []
    for match in _BRACKET.finditer(text):
        token = match.group()
        if token == "[":
            open_at.append(match.start())
        elif token == "]" and open_at:
            steps += match.start() - open_at.pop()
    return steps + sum(len(text) - start for start in open_at)


class TitleProcessor(Treeprocessor):
    """Take a leading ``<h1>`` out of the body as the title; demote the other headings.

    The editions set the title themselves, so the body keeps ``h2`` and below.
    """

    def run(self, root: etree.Element) -> None:
        self.md.exporter_title = None
        children = list(root)
        if children and children[0].tag == "h1":
            first = children[0]
            # The same allow-list as the body: a <script> in the heading leaves no text behind.
            text = html.unescape(strip_tags(sanitize_html(render_inner_html(first, self.md))))
            self.md.exporter_title = text.strip() or None
            root.remove(first)
        if any(element.tag == "h1" for element in root.iter()):
            for element in root.iter():
                if element.tag in {"h1", "h2", "h3", "h4", "h5"}:
                    element.tag = f"h{int(element.tag[1]) + 1}"


class TableProcessor(Treeprocessor):
    """Give tables column-header scope, a caption from a ``Table:`` paragraph, numeric cells,
    the source's column alignment as classes, and a wrapper that lets narrow pages reflow them.

    The alignment (``:-:``, ``--:``) becomes ``align-*`` classes, since the sanitiser drops the
    ``style`` Python-Markdown writes.  Each body cell carries its column's header as
    ``data-label``, and the wrapper a ``reflow-N`` class: the width in ems the table needs,
    under which the screen and e-reader stylesheets show each row as a block of labelled lines.
    """

    def run(self, root: etree.Element) -> None:
        for parent in list(root.iter()):
            for table in [child for child in parent if child.tag == "table"]:
                if sum(1 for _ in table.iter("tr")) <= SHORT_TABLE_ROWS:
                    # Short tables are kept whole on one page, caption included.
                    _add_class(table, "short")
                self._caption(parent, table)
                self._headers(table)
                self._numbers(table)
                self._align(table)
                self._wrap(parent, table)

    def _caption(self, parent: etree.Element, table: etree.Element) -> None:
        siblings = list(parent)
        index = siblings.index(table)
        for candidate in (siblings[index - 1] if index else None,
                          siblings[index + 1] if index + 1 < len(siblings) else None):
            if candidate is None or candidate.tag != "p" or not candidate.text:
                continue
            if not _CAPTION.match(candidate.text):
                continue
            caption = etree.Element("caption")
            caption.text = _CAPTION.sub("", candidate.text, count=1)
            caption.extend(list(candidate))
            table.insert(0, caption)
            parent.remove(candidate)
            return

    @staticmethod
    def _headers(table: etree.Element) -> None:
        for head in table.iter("thead"):
            for cell in head.iter("th"):
                cell.set("scope", "col")
        for body in table.iter("tbody"):
            for cell in body.iter("th"):
                cell.set("scope", "row")

    @staticmethod
    def _numbers(table: etree.Element) -> None:
        rows = [row for row in table.iter("tr") if row.find("td") is not None]
        if not rows:
            return
        width = max(len(row) for row in rows)
        for column in range(width):
            cells = [row[column] for row in rows if column < len(row)]
            texts = ["".join(cell.itertext()).strip() for cell in cells]
            filled = [text for text in texts if text]
            if filled and all(_NUMERIC.match(text) for text in filled):
                for cell in cells:
                    _add_class(cell, "num")
                for row in table.iter("tr"):
                    if column < len(row) and row[column].tag == "th":
                        _add_class(row[column], "num")

    @staticmethod
    def _align(table: etree.Element) -> None:
        for cell in [*table.iter("th"), *table.iter("td")]:
            found = _ALIGN.search(cell.attrib.pop("style", "")) or _ALIGN.search(cell.attrib.pop("align", ""))
            if found:
                _add_class(cell, f"align-{found.group(1)}")

    @staticmethod
    def _wrap(parent: etree.Element, table: etree.Element) -> None:
        head = table.find("thead")
        labels = ["".join(cell.itertext()).strip() for cell in head.iter("th")] if head is not None else []
        columns = [max((len(word) for word in label.split()), default=0) for label in labels]
        for row in (row for body in table.iter("tbody") for row in body.iter("tr")):
            for index, cell in enumerate(row):
                if index < len(labels) and labels[index]:
                    cell.set("data-label", labels[index])
                text = " ".join("".join(cell.itertext()).split())
                # Words past a dozen letters hyphenate; numbers never break.
                longest = len(text) if "num" in cell.get("class", "") else max(
                    (min(len(word), _LONG_WORD) for word in text.split()), default=0)
                need = min(len(text), max(longest, _COMFORTABLE_CHARS))
                columns += [0] * (index + 1 - len(columns))
                columns[index] = max(columns[index], need)
        ems = sum(chars * _EM_PER_CHAR + _CELL_PADDING_EM for chars in columns)
        wrap = etree.Element("div", {"class": "table-wrap"})
        width = max((limit for limit in REFLOW_WIDTHS if limit <= ems), default=None)
        if width is not None:
            _add_class(wrap, f"reflow-{width}")
        wrap.tail, table.tail = table.tail, None
        parent.insert(list(parent).index(table), wrap)
        parent.remove(table)
        wrap.append(table)


def _add_class(element: etree.Element, name: str) -> None:
    element.set("class", (element.get("class", "") + " " + name).strip())


class FigureProcessor(Treeprocessor):
    """Make an image alone in its paragraph a figure, captioned by its title, else its alt text.

    Pandoc's convention: ``![A caption](photo.jpg)`` on its own line is a figure.
    """

    def run(self, root: etree.Element) -> None:
        for paragraph in list(root.iter("p")):
            if (len(paragraph) != 1 or paragraph[0].tag != "img" or (paragraph.text or "").strip()
                    or (paragraph[0].tail or "").strip()):
                continue
            image = paragraph[0]
            paragraph.tag, paragraph.text, image.tail = "figure", None, None
            caption = (image.get("title") or image.get("alt") or "").strip()
            if caption:
                etree.SubElement(paragraph, "figcaption").text = caption


class OnlyWhenNeeded(Treeprocessor):
    """Runs another Treeprocessor only when the text holds something it could change.

    Smarty's pass walks every text of the tree once per pattern (18 of them), which
    costs a news article 2 ms to 3 ms even when it has no straight quote, double
    hyphen or three dots to educate: text typed with typographic quotes already.
    """

    def __init__(self, md: Markdown, inner: Treeprocessor, needs: tuple[str, ...]):
        super().__init__(md)
        self.inner, self.needs = inner, needs

    def run(self, root: etree.Element) -> etree.Element | None:
        for element in root.iter():
            for text in (element.text, element.tail, *element.attrib.values()):
                if text and any(need in text for need in self.needs):
                    changed: etree.Element | None = self.inner.run(root)
                    return changed
        return None


class ExporterExtension(Extension):
    """Registers the project's Treeprocessors after the built-in ones have run."""

    def extendMarkdown(self, md: Markdown) -> None:
        if "smarty" in md.treeprocessors:
            smarty = md.treeprocessors["smarty"]
            md.treeprocessors.register(OnlyWhenNeeded(md, smarty, _SMARTY_NEEDS), "smarty", 6)
        # After fenced code and HTML blocks are set aside (25, 20): their lines are not re-indented.
        md.preprocessors.register(ListIndentPreprocessor(md), "exporter-lists", 15)
        md.treeprocessors.register(BudgetProcessor(md), "exporter-budget", 25)
        md.treeprocessors.register(TitleProcessor(md), "exporter-title", 4)
        md.treeprocessors.register(TableProcessor(md), "exporter-tables", 3)
        md.treeprocessors.register(FigureProcessor(md), "exporter-figures", 2)


def make_markdown() -> Markdown:
    """A Markdown converter configured for articles (XHTML output, ids without colons)."""
    # Instances rather than names: Python-Markdown then skips its entry-point look-up.
    from markdown.extensions.abbr import AbbrExtension
    from markdown.extensions.attr_list import AttrListExtension
    from markdown.extensions.def_list import DefListExtension
    from markdown.extensions.footnotes import FootnoteExtension
    from markdown.extensions.sane_lists import SaneListExtension
    from markdown.extensions.smarty import SmartyExtension
    from markdown.extensions.tables import TableExtension
    from markdown.extensions.toc import TocExtension
    from pymdownx.highlight import HighlightExtension
    from pymdownx.superfences import SuperFencesCodeExtension

    return Markdown(
        extensions=[
            AbbrExtension(),
            AttrListExtension(),
            DefListExtension(),
            # Fenced code in list items and quotes too; not highlighted (no colours in print).
            HighlightExtension(use_pygments=False),
            SuperFencesCodeExtension(),
            FootnoteExtension(SEPARATOR="-", BACKLINK_TITLE="Back to note %d"),
            SaneListExtension(),
            SmartyExtension(substitutions=_SMARTY),
            TableExtension(),
            TocExtension(permalink=False, slugify=_slugify),
            ExporterExtension(),
        ],
        output_format="xhtml",
    )


def _slugify(value: str, separator: str) -> str:
    """Heading ids that are valid XML names in any script: letters kept, never a leading digit."""
    from markdown.extensions.toc import slugify_unicode

    slug = slugify_unicode(value, separator) or "section"
    return slug if slug[0].isalpha() else f"{DIGIT_PREFIX}{slug}"
