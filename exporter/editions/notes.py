"""Notes on the page of their call. ``footnote-policy: line`` moves a line whose note does not
fit, but WeasyPrint still moves a note off its call's page to give the next paragraph its
orphan lines there; that paragraph is then made to start on the next page instead."""

from __future__ import annotations

from typing import Any


def keep_notes_with_calls(layout: Any) -> bool:
    """Raise ``orphans`` (in the laid-out HTML tree) of the paragraph ending each page whose
    note went to a later page, so it moves whole, and let a note of a third of a page or more
    go where it fits; True when either changed the tree: lay the document out again."""
    from weasyprint.formatting_structure import boxes

    pages = [page._page_box for page in layout.pages]
    called: dict[Any, int] = {}
    noted: dict[Any, int] = {}
    changed = False
    for number, page in enumerate(pages):
        for child in page.children:
            if isinstance(child, boxes.FootnoteAreaBox):
                for note in child.children:
                    if note.margin_height() < page.height / 3:
                        noted.setdefault(note.element, number)
                    elif "footnote-policy" not in note.element.get("style", ""):
                        # A note this long rarely fits beside its call: moving the call's line
                        # after it would strew the text over pages. It goes where it fits.
                        _add_style(note.element, "footnote-policy: auto")
                        changed = True
            elif not isinstance(child, boxes.MarginBox):
                for box in child.descendants():
                    if box.footnote is not None:
                        called.setdefault(box.footnote.element, number)
    for number in sorted({page for note, page in called.items() if noted.get(note, page) > page}):
        last = _last_paragraph(pages[number], boxes)
        if last is not None and last.element is not None:
            lines = sum(isinstance(child, boxes.LineBox) for child in last.children)
            _add_style(last.element, f"orphans: {lines + 1}")
            changed = True
    return changed


def _add_style(element: Any, declaration: str) -> None:
    """Add *declaration* to the ``style`` of *element* (later ones win)."""
    element.set("style", f"{element.get('style', '')};{declaration}")


def _last_paragraph(page: Any, boxes: Any) -> Any:
    """The block whose lines end *page*'s text (not its margins or notes), else None."""
    last = None
    for child in page.children:
        if isinstance(child, (boxes.MarginBox, boxes.FootnoteAreaBox)):
            continue
        for box in child.descendants():
            if isinstance(box, boxes.ParentBox) and any(
                    isinstance(line, boxes.LineBox) for line in box.children):
                last = box
    return last
