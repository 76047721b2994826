"""Plain-text import: give a ``.txt`` article the structure its lines imply.

Short lines without closing punctuation between paragraphs become section
headings, ``- `` lines a bulleted list, ``|`` lines a table, and the rest
paragraphs.  The result is Markdown with the text's own characters escaped,
so the words come through exactly as written.
"""

from __future__ import annotations

import re

_CLOSING = tuple(".!?:;,…\"'”’)]»")
_ESCAPE = re.compile(r"([\\`*_\[\]<>{}#])")
_ORDERED = re.compile(r"^(\d+)\. ")


def text_to_markdown(text: str) -> str:
    """Return Markdown for the plain *text*: title, headings, lists, tables, paragraphs.

    The title is a title-like first line; without one the article is named after its file,
    and its first sentence stays where it is, once.
    """
    lines = [line.strip() for line in text.split("\n")]
    blocks: list[str] = []
    title: str | None = None
    previous_kind = "start"
    for index, line in enumerate(lines):
        if not line:
            previous_kind = "blank"
            continue
        following = next((candidate for candidate in lines[index + 1 :] if candidate), "")
        if line.startswith("|"):
            kind, block = "table", line
        elif line.startswith(("- ", "* ", "• ")):
            kind, block = "list", "- " + _escape(line[2:].strip())
        elif _is_heading(line, previous_kind, following):
            kind = "heading"
            if title is None and previous_kind == "start":
                title = line
                previous_kind = kind
                continue
            block = "## " + _escape(line)
        else:
            kind, block = "paragraph", _ORDERED.sub(r"\1\\. ", _escape(line))
        if blocks and kind == previous_kind and kind in {"table", "list"}:
            blocks[-1] += "\n" + block
        else:
            blocks.append(block)
        previous_kind = kind
    head = [f"# {_escape(title)}"] if title else []
    return "\n\n".join(head + blocks) + "\n"


def _is_heading(line: str, previous_kind: str, following: str) -> bool:
    """A heading is short, unpunctuated, capitalised, and followed by ordinary text."""
    if len(line) > 90 or len(line.split()) > 14 or line.endswith(_CLOSING):
        return False
    if not line[0].isupper() and not line[0].isdigit():
        return False
    if previous_kind in {"list", "table"} and not following:
        return False
    return bool(following) and not following.startswith("|")


def _escape(text: str) -> str:
    return _ESCAPE.sub(r"\\\1", text)
