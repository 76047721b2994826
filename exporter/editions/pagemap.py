"""Where each PDF page begins (read from WeasyPrint's layout), marked at the same words in the
EPUB: a reader who cites "p. 2" from the EPUB lands where page 2 of the PDF begins."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any, cast

from lxml import etree

XHTML = "http://www.w3.org/1999/xhtml"
OPS = "http://www.idpf.org/2007/ops"
_FIRST_WORDS = 40


@dataclass(frozen=True)
class PageStart:
    """Page *number* begins in the body element at *path*, with the words *text*."""

    number: int
    #: Which article of the book (0 for a single article).
    article: int
    #: ``header`` or ``body`` (the article's title block or text), or ``start`` for its very start.
    container: str
    #: Child indexes from that container to the element holding the page's first line.
    path: tuple[int, ...]
    text: str


def page_starts(root: Any, layout: Any) -> tuple[PageStart, ...]:
    """The first line of each page of a laid-out WeasyPrint document whose HTML tree is *root*."""
    from weasyprint.formatting_structure import boxes

    parents = {child: parent for parent in root.iter() for child in parent}
    articles = [element for element in root.iter() if _local(element.tag) == "article"]
    starts = []
    for number, page in enumerate(layout.pages, start=1):
        # The first words or image of the page; a table's header repeated on a page that
        # continues it is not where that page begins.
        first = next((box for top in page._page_box.children if not isinstance(top, boxes.MarginBox)
                      for box in top.descendants()
                      if (isinstance(box, boxes.TextBox) and box.text.strip()
                          and not _in_table_head(box.element, parents))
                      or isinstance(box, boxes.ReplacedBox)), None)
        found = _locate(first.element, parents, articles) if first is not None else None
        if found is not None:
            article, container, path = found
            if number == 1 or (container == "header" and path[:1] == (0,)):
                container, path = "start", ()
            text = first.text if isinstance(first, boxes.TextBox) else ""
            starts.append(PageStart(number, article, container, path, " ".join(text.split())))
    return tuple(starts)


def _locate(element: Any, parents: dict[Any, Any],
            articles: list[Any]) -> tuple[int, str, tuple[int, ...]] | None:
    """(article index, container, path) of *element*, or None outside any article's text."""
    steps: list[int] = []
    while (parent := parents.get(element)) is not None:
        steps.append([child for child in parent if isinstance(child.tag, str)].index(element))
        classes = (parent.get("class") or "").split()
        tag = _local(parent.tag)
        if (tag == "div" and "body" in classes) or (tag == "header" and "title-block" in classes):
            article = parents.get(parent)
            if article not in articles:
                return None
            container = "body" if tag == "div" else "header"
            return articles.index(article), container, tuple(reversed(steps))
        element = parent
    return None


def _in_table_head(element: Any, parents: dict[Any, Any]) -> bool:
    while element is not None and _local(element.tag) != "thead":
        element = parents.get(element)
    return element is not None


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def mark_page_starts(root: etree._Element, starts: list[PageStart]) -> None:
    """Insert a page-break marker for each start into the article XHTML *root*."""
    containers = {
        "start": root.find(f".//{{{XHTML}}}article"),
        "body": root.find(f".//{{{XHTML}}}div[@class='body']"),
        "header": root.find(f".//{{{XHTML}}}header[@class='title-block']"),
    }
    for start in starts:
        marker = etree.Element(f"{{{XHTML}}}span", {
            "id": f"page-{start.number}", "role": "doc-pagebreak",
            "aria-label": str(start.number), f"{{{OPS}}}type": "pagebreak"})
        target = containers[start.container]
        for index in start.path:
            children = [child for child in target if isinstance(child.tag, str)] \
                if target is not None else []
            target = children[index] if index < len(children) else None
        if target is None:
            continue
        if start.container == "start":
            target.insert(0, marker)
        elif _local(target.tag) in {"img", "svg", "video", "audio", "object"}:
            target.addprevious(marker)  # a page that opens with an image
        else:
            _insert_at(target, _offset(target, start.text), marker)


def _offset(element: etree._Element, words: str) -> int:
    """Where *words* begin in *element*'s text, moved to a word boundary (0 when not found)."""
    flat = str(element.xpath("string()"))
    probe = words[:_FIRST_WORDS]
    position = " ".join(flat.split()).find(probe) if probe else -1
    if position <= 0:
        return 0
    # Back to the raw text: each run of white space (even a leading one) counts as one character.
    token = next(itertools.islice(re.finditer(r"\s+|\S", flat), position, None), None)
    raw = token.start() if token else len(flat)
    while 0 < raw < len(flat) and flat[raw - 1].isalnum():
        raw += 1
    return raw


def _insert_at(element: etree._Element, offset: int, marker: etree._Element) -> None:
    """Put *marker* at character *offset* of *element*'s text, splitting the text node there."""
    if offset == 0:
        marker.tail, element.text = element.text, None
        element.insert(0, marker)
        return
    # (lxml's text results know the element they belong to, and whether they are its tail)
    for text in cast("list[Any]", element.xpath(".//text()")):
        if offset <= len(text):
            owner = text.getparent()
            if text.is_text:
                marker.tail, owner.text = text[offset:] or None, text[:offset]
                owner.insert(0, marker)
            else:
                marker.tail, owner.tail = text[offset:] or None, text[:offset]
                owner.addnext(marker)
            return
        offset -= len(text)
    element.append(marker)
