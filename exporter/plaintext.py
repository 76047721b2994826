"""Plain-text import: a ``.txt`` article as Markdown with the structure its lines imply, and
its own characters escaped so the words come through exactly as written."""

from __future__ import annotations

import re

_CLOSING = tuple(".!?:;,…\"'”’)]»")
_ESCAPE = re.compile(r"([\\`*_\[\]>{}#])")
#: A table's rule under its header row (``|---|:--:|``), which plain text may leave out.
_RULE = re.compile(r"\|?(?:\s*:?-+:?\s*\|)+\s*:?-*:?\s*")
_ORDERED = re.compile(r"^(\d+)([.)]) ")


def text_to_markdown(text: str) -> str:
    """Markdown for the plain *text*: a title-like first line is the title, short unpunctuated
    lines between paragraphs headings, ``- `` lines a list, ``|`` lines a table (the first its
    header)."""
    lines = [line.strip() for line in text.split("\n")]
    blocks: list[str] = []
    title: str | None = None
    previous_kind = "start"
    for index, line in enumerate(lines):
        if not line:
            previous_kind = "blank"
            continue
        following = next((candidate for candidate in lines[index + 1 :] if candidate), "")
        if line.startswith("|") and (previous_kind == "table" or (  # (two lines at least)
                index + 1 < len(lines) and lines[index + 1].startswith("|"))):
            cells = [_escape(cell.strip()) for cell in line.strip("|").split("|")]
            kind, block = "table", "| " + " | ".join(cells) + " |"
            if previous_kind != "table" and not _RULE.fullmatch(following):  # (a header row)
                block += "\n|" + " --- |" * len(cells)
        elif line.startswith(("- ", "* ", "• ")):
            kind, block = "list", "- " + _escape(line[2:].strip())
        elif (len(line) <= 90 and len(line.split()) <= 14 and not line.endswith(_CLOSING)
              and (line[0].isupper() or line[0].isdigit()) and following
              and not following.startswith("|")):  # short, unpunctuated, followed by text
            kind = "heading"
            if previous_kind == "start":
                title, previous_kind = line, kind
                continue
            block = "## " + _escape(line)
        else:
            kind, block = "paragraph", _ORDERED.sub(r"\1\\\2 ", _escape(line))
        if blocks and kind == previous_kind and kind in {"table", "list"}:
            blocks[-1] += "\n" + block
        else:
            blocks.append(block)
        previous_kind = kind
    head = [f"# {_escape(title)}"] if title else []
    return "\n\n".join(head + blocks) + "\n"


def _escape(text: str) -> str:
    """*text* as Markdown that reads as exactly these characters (``<`` and ``&`` as entities,
    which Python-Markdown has no backslash escape for)."""
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    return _ESCAPE.sub(r"\\\1", text)
