"""The project's Python-Markdown extensions and the configured converter, :func:`make_markdown`."""

from __future__ import annotations

import copy
import html
import re
import xml.etree.ElementTree as etree
from typing import Any

from markdown import Markdown
from markdown.extensions import Extension
from markdown.extensions.abbr import AbbrExtension
from markdown.extensions.attr_list import AttrListExtension
from markdown.extensions.def_list import DefListExtension
from markdown.extensions.footnotes import FootnoteExtension
from markdown.extensions.sane_lists import SaneListExtension
from markdown.extensions.smarty import SmartyExtension, substitutions
from markdown.extensions.tables import TableExtension, TableProcessor
from markdown.extensions.toc import TocExtension, render_inner_html, slugify_unicode, strip_tags
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
#: The widths (ems) under which a table's rows become blocks, one container query each in the
#: stylesheets; a table takes the largest it needs, and one needing less than the first never reflows.
REFLOW_WIDTHS = (12, 18, 24, 32, 48)
# Ems per letter of table text and per cell of padding, the letters a cell shares a line
# with before it wraps, and the longest word that does not hyphenate.
_EM_PER_CHAR, _CELL_PADDING_EM, _COMFORTABLE_CHARS, _LONG_WORD = 0.45, 0.54, 12, 14
# What smarty's patterns (quotes, dashes, ellipses) need in the text to match at all.
_SMARTY_NEEDS = ("'", '"', "--", "...")
# What an indented code block needs, once lists are re-indented: a tab or four spaces.
_INDENT = re.compile(r"\t| {4}")

# Python-Markdown 3.11's inline parsing cost, pessimistically: nanoseconds per character its
# link parser steps over, and per character of paragraph rebuilt after each match of a heavy
# or light marker.  Refused past three seconds plus two microseconds a character.
_NS_PER_BRACKET_STEP, _NS_PER_HEAVY_CHAR, _NS_PER_LIGHT_CHAR = 300, 5, 2
_HEAVY_MARKERS, _LIGHT_MARKERS = "[`*_", "<&\\\"'!"
_BUDGET_NS, _BUDGET_NS_PER_CHAR = 3_000_000_000, 2_000
_BRACKET = re.compile(r"\\.|[\[\]]", re.DOTALL)
_ESCAPED = re.compile(r"\\.", re.DOTALL)
_NOT_IN_NAMES = re.compile(r"[^A-Za-z0-9-]")


class TooComplex(SourceError):
    """A paragraph Python-Markdown would take minutes to parse; *excerpt* is its start."""

    def __init__(self, message: str, excerpt: str):
        super().__init__(message)
        self.excerpt = excerpt


class BudgetProcessor(Treeprocessor):
    """Refuse text whose inline parsing cost grows with the square of its length: unclosed
    brackets scanned to the paragraph's end (upstream issue 798), each match rebuilding it (1619)."""

    def run(self, root: etree.Element) -> None:
        total_ns, length, worst = 0, 0, (0, "", 0, 0)
        for element in root.iter():
            for text in (element.tail,) if element is root else (element.text, element.tail):
                if not text or isinstance(text, AtomicString):
                    continue
                steps = _bracket_steps(text) if "[" in text else 0
                # An escaped character is one cheap match, never the start of a link or emphasis.
                plain = _ESCAPED.sub("", text) if "\\" in text else text
                heavy = sum(plain.count(char) for char in _HEAVY_MARKERS)
                light = sum(text.count(char) for char in _LIGHT_MARKERS)
                cost = steps * _NS_PER_BRACKET_STEP + len(text) * (
                    heavy * _NS_PER_HEAVY_CHAR + light * _NS_PER_LIGHT_CHAR)
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
        if match.group() == "[":
            open_at.append(match.start())
        elif match.group() == "]" and open_at:
            steps += match.start() - open_at.pop()
    return steps + sum(len(text) - start for start in open_at)


class ArticleProcessor(Treeprocessor):
    """Take a leading ``<h1>`` out of the body as the title (the editions set it themselves),
    unless the front matter gives another *title*, and demote the other headings so the body
    keeps ``h2`` and below; then shape tables and figures."""

    def __init__(self, md: Markdown, title: str | None):
        super().__init__(md)
        self.title = title

    def _words(self, heading: etree.Element) -> str:
        """The text of *heading* without its note calls' numbers."""
        heading = copy.deepcopy(heading)
        for call in heading.iter("sup"):
            tail = call.tail
            call.clear()  # (an empty <sup/>, which strip_tags takes away)
            call.tail = tail
        return html.unescape(strip_tags(render_inner_html(heading, self.md)))

    def run(self, root: etree.Element) -> None:
        self.md.exporter_title = None
        if len(root) and root[0].tag == "h1":
            # The same allow-list as the body: a <script> in the heading leaves no text behind.
            text = html.unescape(strip_tags(sanitize_html(render_inner_html(root[0], self.md))))
            if self.title is None or _same_words(self._words(root[0]), self.title):
                self.md.exporter_title = text.strip() or None
                root.remove(root[0])
        if any(element.tag == "h1" for element in root.iter()):
            for element in root.iter():
                if element.tag in {"h1", "h2", "h3", "h4", "h5"}:
                    element.tag = f"h{int(element.tag[1]) + 1}"
        for parent in list(root.iter()):
            for table in [child for child in parent if child.tag == "table"]:
                _shape_table(parent, table)
        for paragraph in list(root.iter("p")):
            _make_figure(paragraph)


def _same_words(heading: str, title: str) -> bool:
    """Whether a heading says what the title says, whatever its quotes, dashes or case."""
    title = html.unescape(strip_tags(title))
    words = [re.findall(r"\w+", text.casefold()) for text in (heading, title)]
    return words[0] == words[1] if any(words) else heading.strip() == title.strip()


def _shape_table(parent: etree.Element, table: etree.Element) -> None:
    """Give *table* header scopes, a ``Table:`` caption, numeric cells, ``align-*`` classes (the
    sanitiser drops ``style``), ``data-label`` headers on body cells, and a wrapper whose
    ``reflow-N`` class is the width in ems under which the stylesheets show rows as blocks."""
    if sum(1 for _ in table.iter("tr")) <= SHORT_TABLE_ROWS:
        _add_class(table, "short")  # kept whole on one page, caption included
    index = list(parent).index(table)
    for candidate in [parent[i] for i in (index - 1, index + 1) if 0 <= i < len(parent)]:
        found = _CAPTION.match(candidate.text or "") if candidate.tag == "p" else None
        if found:
            caption = etree.Element("caption")
            caption.text = found.string[found.end():]
            caption.extend(list(candidate))
            table.insert(0, caption)
            parent.remove(candidate)
            break
    for section, scope in (("thead", "col"), ("tbody", "row")):
        for cell in (cell for part in table.iter(section) for cell in part.iter("th")):
            cell.set("scope", scope)
    rows = [row for row in table.iter("tr") if row.find("td") is not None]
    for column in range(max((len(row) for row in rows), default=0)):
        cells = [row[column] for row in rows if column < len(row)]
        filled = [text for text in (_text(cell).strip() for cell in cells) if text]
        if filled and all(_NUMERIC.match(text) for text in filled):
            for cell in cells:
                _add_class(cell, "num")
            for row in table.iter("tr"):
                if column < len(row) and row[column].tag == "th":
                    _add_class(row[column], "num")
    for cell in [*table.iter("th"), *table.iter("td")]:
        found = _ALIGN.search(cell.attrib.pop("style", "")) or _ALIGN.search(cell.attrib.pop("align", ""))
        if found:
            _add_class(cell, f"align-{found.group(1)}")
    _wrap(parent, table)


def _wrap(parent: etree.Element, table: etree.Element) -> None:
    """Label body cells with their column's header, and wrap *table* for reflowing."""
    head = table.find("thead")
    labels = [_text(cell).strip() for cell in head.iter("th")] if head is not None else []
    columns = [max((len(word) for word in label.split()), default=0) for label in labels]
    for row in (row for body in table.iter("tbody") for row in body.iter("tr")):
        for index, cell in enumerate(row):
            if index < len(labels) and labels[index]:
                cell.set("data-label", labels[index])
            text = " ".join(_text(cell).split())
            # Words past a dozen letters hyphenate; numbers never break.
            longest = len(text) if "num" in cell.get("class", "") else max(
                (min(len(word), _LONG_WORD) for word in text.split()), default=0)
            columns += [0] * (index + 1 - len(columns))
            columns[index] = max(columns[index], min(len(text), max(longest, _COMFORTABLE_CHARS)))
    ems = sum(chars * _EM_PER_CHAR + _CELL_PADDING_EM for chars in columns)
    width = max((limit for limit in REFLOW_WIDTHS if limit <= ems), default=None)
    wrap = etree.Element("div", {"class": "table-wrap" + (f" reflow-{width}" if width else "")})
    wrap.tail, table.tail = table.tail, None
    parent[list(parent).index(table)] = wrap
    wrap.append(table)


def _make_figure(paragraph: etree.Element) -> None:
    """Make an image alone in *paragraph* a figure captioned by its title, else its alt text
    (pandoc's convention)."""
    if (len(paragraph) != 1 or paragraph[0].tag != "img" or (paragraph.text or "").strip()
            or (paragraph[0].tail or "").strip()):
        return
    image = paragraph[0]
    paragraph.tag, paragraph.text, image.tail = "figure", None, None
    caption = (image.get("title") or image.get("alt") or "").strip()
    if caption:
        etree.SubElement(paragraph, "figcaption").text = caption


def _text(element: etree.Element) -> str:
    return "".join(element.itertext())


def _add_class(element: etree.Element, name: str) -> None:
    element.set("class", (element.get("class", "") + " " + name).strip())


class OnlyWhenNeeded(Treeprocessor):
    """Runs another Treeprocessor only when some text holds one of *needs* (smarty walks every
    text once per pattern, even text typed with typographic quotes already)."""

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
    """Registers the project's processors around the built-in ones; *title* is the front matter's."""

    def __init__(self, title: str | None = None):
        super().__init__()
        self.title = title

    def extendMarkdown(self, md: Markdown) -> None:
        md.treeprocessors.register(OnlyWhenNeeded(md, md.treeprocessors["smarty"], _SMARTY_NEEDS),
                                   "smarty", 6)
        # After fenced code and HTML blocks are set aside (25, 20): their lines are not re-indented.
        md.preprocessors.register(ListIndentPreprocessor(md), "exporter-lists", 15)
        md.treeprocessors.register(BudgetProcessor(md), "exporter-budget", 25)
        md.treeprocessors.register(ArticleProcessor(md, self.title), "exporter-article", 4)
        table = md.parser.blockprocessors["table"]
        md.parser.blockprocessors.register(_GitHubTable(md.parser, table.config), "table", 75)
        # Ordered lists numbered "1)" as well as "1.", as CommonMark reads them (in quotes and notes too).
        olist, ulist = md.parser.blockprocessors["olist"], md.parser.blockprocessors["ulist"]
        tab = md.tab_length
        olist.RE = re.compile(rf"^[ ]{{0,{tab - 1}}}\d+[.)][ ]+(.*)")
        olist.CHILD_RE = re.compile(rf"^[ ]{{0,{tab - 1}}}((\d+[.)]))[ ]+(.*)")
        for processor in (olist, ulist):
            processor.INDENT_RE = re.compile(rf"^[ ]{{{tab},{tab * 2 - 1}}}((\d+[.)])|[*+-])[ ]+.*")



class _GitHubTable(TableProcessor):
    """A table whose cells read ``\\|`` as ``|``, inside code too, as GitHub's do (elsewhere the
    backslash escape did the same already)."""

    def _split_row(self, row: str) -> list[str]:
        return [cell.replace("\\|", "|") for cell in super()._split_row(row)]


class _Footnotes(FootnoteExtension):
    """Notes whose ids are XML names whatever their labels, which the sanitizer keeps: each
    character but an ASCII letter, digit or hyphen is written ``_hex_`` (``[^x:y]``: ``fn-x_3a_y``)."""

    def makeFootnoteId(self, id: str) -> str:
        return str(super().makeFootnoteId(_name(id)))

    def makeFootnoteRefId(self, id: str, found: bool = False) -> str:
        return str(super().makeFootnoteRefId(_name(id), found))


def _name(label: str) -> str:
    """*label* with each character an XML name may not hold written ``_hex_``."""
    return _NOT_IN_NAMES.sub(lambda m: f"_{ord(m[0]):x}_", label)


def note_label(note_id: str) -> str:
    """The label a note was given in the text (``x:y``), from its id (``fn-x_3a_y``)."""
    return re.sub(r"_([0-9a-f]+)_", lambda m: chr(int(m[1], 16)), note_id.removeprefix("fn-"))


class _Markdown(Markdown):
    """Builds the extension SuperFences asks for by name without scanning entry points."""

    def build_extension(self, ext_name: str, configs: Any) -> Extension:
        if ext_name != "pymdownx.highlight":
            return super().build_extension(ext_name, configs)
        from pymdownx.highlight import HighlightExtension

        return HighlightExtension(**configs)


def may_hold_code(text: str) -> bool:
    """Whether *text* could hold a code block: a fence, or a tab or four spaces of indent once
    its lists are re-indented (what an indented block needs, in a list or a quote too)."""
    if "```" in text or "~~~" in text or _INDENT.search(text):
        return True  # (else only the re-indented lists can give a code block its indent)
    return _INDENT.search("\n".join(ListIndentPreprocessor().run(text.split("\n")))) is not None


def make_markdown(code: bool = True, title: str | None = None, strikes: bool = True) -> Markdown:
    """A Markdown converter configured for articles (XHTML output, ids without colons); without
    *code* it has no SuperFences, which changes only code blocks and is a third of its imports,
    and without *strikes* no ``~~struck out~~`` (PyMdown's, whose imports are as heavy). A
    leading heading is the title, unless the front matter's *title* says something else."""
    code_extensions: list[Extension] = []
    if code:
        from pymdownx.highlight import HighlightExtension
        from pymdownx.superfences import SuperFencesCodeExtension

        code_extensions = [HighlightExtension(use_pygments=False), SuperFencesCodeExtension()]
    if strikes:
        from pymdownx.tilde import DeleteSubExtension

        code_extensions.append(DeleteSubExtension(subscript=False))
    # Instances, not names, so Python-Markdown skips its entry-point look-up.  Code is not
    # highlighted (no colours in print); quotes and dashes are characters, not entities.
    characters = {key: html.unescape(value) for key, value in substitutions.items()}
    return _Markdown(
        extensions=[
            AbbrExtension(), AttrListExtension(), DefListExtension(), *code_extensions,
            _Footnotes(SEPARATOR="-", BACKLINK_TITLE="%d"), SaneListExtension(),
            SmartyExtension(substitutions=characters),
            TableExtension(), TocExtension(permalink=False, slugify=_slugify), ExporterExtension(title),
        ],
        output_format="xhtml",
    )


def _slugify(value: str, separator: str) -> str:
    """Heading ids that are valid XML names in any script: letters kept, never a leading digit."""
    slug = slugify_unicode(value, separator) or "section"
    return slug if slug[0].isalpha() else f"{DIGIT_PREFIX}{slug}"
