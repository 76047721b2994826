"""Links readers can follow: each address made a valid URL (EPUBCheck refuses others), or kept
as plain text with a warning when it leads to no element of the article or to no possible host."""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from lxml import etree

from .markdown_ext import DIGIT_PREFIX

# Characters a URL may hold as they are (RFC 3986's reserved and unreserved, and '%').
_URL_SAFE = "!#$&'()*+,-./:;=?@[]~_%"
# A '%' that does not start an escape of two hex digits.
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# A host name's label: letters, digits, inner hyphens (after IDNA encoding) and underscores.
_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")
_HOSTED = {"http", "https", "ftp", "ftps"}


def mend_links(root: etree._Element) -> list[str]:
    """Make every ``a[href]`` under *root* a valid URL; return what was dropped, and why."""
    ids = {element.get("id") for element in root.iter() if element.get("id")}
    dropped = []
    for link in root.iter("a"):
        href = (link.get("href") or "").strip()
        if not href:
            continue
        if href.startswith("#"):
            # As the id is written (as the contents list does), or with the prefix of one
            # that began with a digit.
            target = unquote(href[1:])
            target = target if target in ids else f"{DIGIT_PREFIX}{target}"
            mended = f"#{target}" if target in ids else None
            why = f"link to {href} leads nowhere: no heading or note has that id"
        else:
            mended, why = _valid_url(href), f"link to {href!r} is not an address a reader can open"
        if mended is None:
            dropped.append(f"{why}; its text is kept")
            del link.attrib["href"]
        else:
            link.set("href", mended)
    return dropped


def _valid_url(href: str) -> str | None:
    """*href* with the characters a URL cannot hold percent-encoded; None for a bad host."""
    address, hash_, fragment = href.partition("#")
    encoded = _LONE_PERCENT.sub("%25", quote(address, safe=_URL_SAFE) + hash_
                                + quote(fragment, safe=_URL_SAFE.replace("#", "")))
    try:
        parts = urlsplit(encoded)
    except ValueError:  # (an unclosed IPv6 bracket)
        return None
    if parts.scheme.lower() not in _HOSTED:
        return encoded
    try:
        original = urlsplit(href)
        host, port = original.hostname or "", original.port
        ascii_host = host if ":" in host else host.encode("idna").decode("ascii")  # (IPv6)
    except (ValueError, UnicodeError):
        return None
    labels = ascii_host.removesuffix(".").split(".")  # ("example.com." is fully qualified)
    if ":" not in host and not (ascii_host and all(map(_LABEL.fullmatch, labels))):
        return None
    if ascii_host != host:  # an international name, written in its ASCII form
        userinfo, at, _ = parts.netloc.rpartition("@")
        netloc = f"{userinfo}{at}{ascii_host}" + (f":{port}" if port is not None else "")
        encoded = urlunsplit(parts._replace(netloc=netloc))
    return encoded
