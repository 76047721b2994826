"""Nested lists as CommonMark reads them (two or three spaces deep), re-indented to the four
spaces a level Python-Markdown needs; other lines and fenced code keep their indentation."""

from __future__ import annotations

import re

from markdown.preprocessors import Preprocessor

# A list marker, and one to four spaces (more start indented code).
_ITEM = re.compile(r"( *)([-*+]|\d{1,9}[.)])( {1,4}(?=\S)|$)")
_RULE = re.compile(r" {0,3}([-*_])(?: *\1){2,} *$")
_FENCE = re.compile(r" *(`{3,}|~{3,})")
# A heading, a quote, HTML (or Python-Markdown's placeholder for it) interrupt a paragraph.
_BLOCK_STARTS = "#><\x02"


class ListIndentPreprocessor(Preprocessor):
    """Re-indent list items to four spaces a level, keeping their CommonMark nesting."""

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        # Each open item's content column in the source and in the output, and whether it is loose.
        items: list[tuple[int, int, bool]] = []
        fence, shift, blank, paragraph = "", 0, True, False
        for raw in lines:
            line = raw.expandtabs(4) if "\t" in raw[:16] else raw
            stripped = line.lstrip(" ")
            indent = len(line) - len(stripped)
            if fence:
                out.append(_shifted(line, shift))
                if stripped.startswith(fence) and not stripped.strip(fence[0]).strip():
                    fence = ""
                continue
            if not stripped:
                out.append(raw)
                blank, paragraph = True, False
                items = [(source, target, True) for source, target, _ in items]
                continue
            item = _ITEM.match(line) if not _RULE.match(line) else None
            limit = items[-1][0] + 4 if items else 4
            nested = bool(items) and indent >= items[-1][0]
            lazy = bool(item and paragraph and (nested or not items) and not _may_interrupt(item, nested))
            if lazy:
                item = None  # the paragraph's text, as CommonMark reads it
            opener = _FENCE.match(line) if indent < limit else None
            # A block ends the list it is not indented into; other text continues the paragraph.
            block = bool(opener) or bool(_RULE.match(line)) or stripped[0] in _BLOCK_STARTS
            popped, in_list = [], bool(items)
            while items and indent < items[-1][0] and (blank or block or item):
                popped.append(items.pop())
            shift = 0
            if item and indent < limit:
                if ((popped and popped[-1][2]) or (paragraph and not in_list)) and not blank:
                    # Else Python-Markdown reads a loose item's sibling as part of the nested list,
                    # or a list right under a paragraph as more of its text.
                    out.append("")
                target = items[-1][1] if items else 0
                width = len(item.group(2)) + max(len(item.group(3)), 1)
                items.append((indent + width, target + 4, False))
                shift = target - indent
            elif items and indent >= items[-1][0] and not lazy:
                shift = items[-1][1] - items[-1][0]
            elif blank:
                items.clear()
            out.append(_shifted(line, shift) if shift else raw)
            if opener and not (opener.group(1)[0] == "`" and "`" in line[opener.end():]):
                fence = opener.group(1)
            blank = False
            paragraph = not block and (not item or bool(line[item.end():].strip()))
        return out


def _may_interrupt(item: re.Match[str], nested: bool) -> bool:
    """Whether an item may start right under a paragraph line, as CommonMark says: one with text,
    and a numbered one only from 1 (at the top level too, where Python-Markdown's rule is never)."""
    marker = item.group(2)
    return (nested or bool(item.group(3))) and (not marker[:-1].isdigit() or int(marker[:-1]) == 1)


def _shifted(line: str, shift: int) -> str:
    """*line* moved right by *shift* columns (left when negative, never past its text)."""
    if shift >= 0:
        return " " * shift + line
    cut = min(-shift, len(line) - len(line.lstrip(" ")))
    return line[cut:]
