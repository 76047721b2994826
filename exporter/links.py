"""Links readers can follow: each address made a valid URL, or kept as plain text with a warning.

Markdown passes addresses through as written (``<http://foo.bar/baz bim>``,
``[x](#somewhere-else)``); an EPUB with such a link fails EPUBCheck, and a reader's
tap goes nowhere.  Spaces and letters outside ASCII are percent-encoded; a link to a
fragment no element of the article has, or to a host that cannot exist, loses its
address and keeps its text.
"""

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
            target = unquote(href[1:])
            if target in ids:
                link.set("href", f"#{target}")  # (as the id is written, as the contents list does)
            elif f"{DIGIT_PREFIX}{target}" in ids:  # a heading id that began with a digit
                link.set("href", f"#{DIGIT_PREFIX}{target}")
            else:
                dropped.append(f"link to {href} leads nowhere: no heading or note has that id")
                del link.attrib["href"]
            continue
        mended = _valid_url(href)
        if mended is None:
            dropped.append(f"link to {href!r} is not an address a reader can open")
            del link.attrib["href"]
        else:
            link.set("href", mended)
    return [f"{message}; its text is kept" for message in dropped]


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
