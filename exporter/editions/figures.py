"""Figures that fit: an image is shrunk to the space its figure left on the page before,
rather than leave a third of that page blank (WeasyPrint moves a figure that does not fit)."""

from __future__ import annotations

import itertools
from typing import Any

#: A page may end this share of its text area empty before a figure is made to fit there.
MAX_BLANK_SHARE = 1 / 3
#: An image is never shrunk below this share of its height, a figure is moved instead.
MIN_SCALE = 0.4


def shrink_orphaned_figures(layout: Any, root: Any) -> bool:
    """Give each figure that left a page a third empty a ``max-height`` (in *root*, the laid-out
    HTML tree) that fits it there; True when one was limited: lay the document out again."""
    from weasyprint.formatting_structure import boxes

    parents = {child: parent for parent in root.iter() for child in parent}
    changed = False
    pages = [page._page_box for page in layout.pages]
    for before, page in itertools.pairwise(pages):
        image = _opening_image(page, parents, boxes)
        if image is None or image.element.get("style"):
            continue
        area_top = before.content_box_y()
        area_bottom = area_top + before.height
        notes = [box for box in before.children if isinstance(box, boxes.FootnoteAreaBox)]
        if notes and notes[0].children:
            area_bottom = notes[0].position_y
        blank = area_bottom - _content_bottom(before, boxes)
        if blank <= MAX_BLANK_SHARE * before.height:
            continue
        figure = parents[image.element]
        around = _figure_height(page, figure, boxes) - image.margin_height()
        room = blank - around - 2  # CSS pixels, as WeasyPrint lays out; 2 for rounding
        if room >= MIN_SCALE * image.height:
            image.element.set("style", f"max-height: {room:.1f}px")
            changed = True
    return changed


def _opening_image(page: Any, parents: dict[Any, Any], boxes: Any) -> Any:
    """The image of a figure that opens *page* (before any text), else None."""
    for box in page.descendants():
        if isinstance(box, boxes.TextBox) and box.text.strip():
            return None
        if isinstance(box, boxes.ReplacedBox):
            parent = parents.get(box.element)
            if parent is not None and str(parent.tag).rsplit("}", 1)[-1] == "figure":
                return box
            return None
    return None


def _content_bottom(page: Any, boxes: Any) -> float:
    """The lowest edge of anything the page's text area holds (not its margins or notes)."""
    bottom = page.content_box_y()
    for child in page.children:
        if isinstance(child, (boxes.MarginBox, boxes.FootnoteAreaBox)):
            continue
        for box in child.descendants():
            if isinstance(box, (boxes.TextBox, boxes.ReplacedBox, boxes.LineBox)):
                bottom = max(bottom, box.position_y + box.margin_height())
    return float(bottom)


def _figure_height(page: Any, figure: Any, boxes: Any) -> float:
    """The height the figure's block takes on *page*, margins included."""
    for box in page.descendants():
        if isinstance(box, boxes.BlockBox) and box.element is figure and box.element_tag == "figure":
            return float(box.margin_height())
    return 0.0
