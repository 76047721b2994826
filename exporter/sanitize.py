"""The allow-list of HTML a book may hold, applied with ``nh3`` to every body: no scripts, styles,
frames, forms, event handlers, links outside the web, mail and the article, nor values XML forbids."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

import nh3

from .metadata import LANGUAGE

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
    # data-label: the column's header, shown beside each cell where a narrow page reflows a table.
    "td": {"colspan", "rowspan", "headers", "data-label"},
    "th": {"colspan", "rowspan", "headers", "scope", "abbr"},
    "ol": {"start", "reversed", "type"},
    "li": {"value"},
    "time": {"datetime"},
    "col": {"span"},
    "colgroup": {"span"},
    "del": {"datetime", "cite"},
    "ins": {"datetime", "cite"},
    "q": {"cite"},
    "blockquote": {"cite"},
}
URL_SCHEMES = {"http", "https", "mailto", "data"}

_ASCII_NAME = re.compile(r"[A-Za-z_][\w.-]*", re.ASCII)
_LINK = re.compile(r"#|(?:https?|mailto):", re.IGNORECASE)
_WEB = re.compile(r"https?:", re.IGNORECASE)
# Characters XML 1.0 forbids (surrogates are already U+FFFD after parsing).
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@functools.cache
def _ncname() -> re.Pattern[str]:
    """XML 1.0 names without colons, which ids must be in an EPUB (compiled only for non-ASCII)."""
    start = ("A-Z_a-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c\u200d"
             "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff")
    return re.compile(f"[{start}][{start}\\-.0-9\u00b7\u0300-\u036f\u203f\u2040]*")


#: The values an attribute may take, once stripped; anything else is dropped.
_VALUES: dict[str, Callable[[str], object]] = {
    "id": lambda value: _ASCII_NAME.fullmatch(value) or _ncname().fullmatch(value),
    "dir": re.compile(r"ltr|rtl|auto").fullmatch,
    "scope": re.compile(r"row|col|rowgroup|colgroup").fullmatch,
    "reversed": re.compile(r"|reversed").fullmatch,
    **dict.fromkeys(("lang", "hreflang"), LANGUAGE.fullmatch),
    **dict.fromkeys(("width", "height", "colspan", "rowspan", "span"), re.compile(r"[0-9]{1,9}").fullmatch),
    **dict.fromkeys(("start", "value"), re.compile(r"-?[0-9]{1,9}").fullmatch),
}


def _filter_attribute(tag: str, name: str, value: str, dropped: list[str] | None = None) -> str | None:
    """Keep an allowed attribute only when its value is one a book can hold (a link's address
    that it cannot is added to *dropped*)."""
    rule = _VALUES.get(name)
    if rule is not None:
        return value.strip() if rule(value.strip()) else None
    if name == "href" and tag == "a":
        # Other files and schemes do not travel with a one-file book: only the web, mail, or here.
        if _LINK.match(value.strip()):
            return value
        if dropped is not None:
            dropped.append(value)
        return None
    if name == "cite":
        return value if _WEB.match(value.strip()) else None
    if name == "type" and tag == "ol":
        return value if value in {"1", "a", "A", "i", "I"} else None
    return value


def sanitize_html(html: str, dropped: list[str] | None = None) -> str:
    """Return *html* with everything outside the allow-list removed; the addresses of links that
    lead out of the web, mail and the article are added to *dropped*."""
    clean = nh3.clean(html, tags=TAGS, clean_content_tags=DROPPED_WITH_CONTENT, attributes=ATTRIBUTES,
                      attribute_filter=lambda tag, name, value: _filter_attribute(tag, name, value, dropped),
                      url_schemes=URL_SCHEMES, link_rel=None, strip_comments=True)
    return _XML_FORBIDDEN.sub("\ufffd", clean)
