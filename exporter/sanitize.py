"""The allow-list of HTML a book may hold, applied with ``nh3`` to every body.

Python-Markdown passes raw HTML through untouched; this keeps what books need
(tables, figures, notes, abbreviations, ...) and drops scripts, styles, frames,
forms, event handlers, ``style`` attributes and unknown URL schemes.
"""

from __future__ import annotations

import nh3

TAGS = {
    "a", "abbr", "aside", "b", "bdi", "bdo", "blockquote", "br", "caption", "cite", "code",
    "col", "colgroup", "dd", "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption",
    "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark",
    "ol", "p", "pre", "q", "rp", "rt", "ruby", "s", "samp", "section", "small", "span", "strong",
    "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u",
    "ul", "var", "wbr",
}  # fmt: skip

# Dropped with their content, not just unwrapped.
DROPPED_WITH_CONTENT = {"script", "style", "template", "noscript", "iframe", "object", "embed",
                        "svg", "math", "textarea", "select", "title"}  # fmt: skip

ATTRIBUTES = {
    "*": {"id", "class", "lang", "title", "dir", "role"},
    "a": {"href", "hreflang"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "headers"},
    "th": {"colspan", "rowspan", "headers", "scope", "abbr"},
    "col": {"span"},
    "colgroup": {"span"},
    "ol": {"start", "reversed", "type"},
    "li": {"value"},
    "time": {"datetime"},
    "del": {"datetime", "cite"},
    "ins": {"datetime", "cite"},
    "q": {"cite"},
    "blockquote": {"cite"},
}

URL_SCHEMES = {"http", "https", "mailto", "data"}


def sanitize_html(html: str) -> str:
    """Return *html* with everything outside the allow-list removed."""
    return nh3.clean(
        html,
        tags=TAGS,
        clean_content_tags=DROPPED_WITH_CONTENT,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel=None,
        strip_comments=True,
    )
