"""Where stylesheets and fonts live, and which files an edition may read.

``styles/`` sits at the top of the repository and travels inside the wheel
as ``exporter/styles``; :func:`styles_dir` finds it either way.  The PDF
edition reads stylesheets and fonts only through :func:`make_fetcher`, whose
policy admits ``data:`` URLs and files under the allowed folders, nothing else.
"""

from __future__ import annotations

import functools
import mimetypes
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from .errors import StyleError
from .options import STYLES, Options
from .userstyle import Embed, data_url, resolve_parts

#: The media an edition is read in, each with its own layer of CSS.
MEDIA_LAYERS = {"html": "screen.css", "epub": "ereader.css", "pdf": "paged.css"}


@functools.cache
def styles_dir() -> Path:
    """The folder of bundled stylesheets and fonts (inside the package once installed)."""
    packaged = resources.files("exporter").joinpath("styles")
    if packaged.is_dir():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parent.parent / "styles"
    if checkout.is_dir():
        return checkout
    raise StyleError("the bundled styles folder is missing; reinstall exporter")


@dataclass(frozen=True)
class Stylesheet:
    """A stylesheet's text and the file it came from (for resolving its ``url()``s)."""

    path: Path
    text: str
    #: Its ``@namespace`` rules, which must come before every other rule of a joined sheet.
    namespaces: str = ""


@functools.cache
def _read_bundled(name: str) -> Stylesheet:
    path = styles_dir() / name
    return Stylesheet(path, path.read_text(encoding="utf-8"))


def stylesheets_for(edition_format: str, options: Options,
                    embed: Embed = data_url) -> tuple[Stylesheet, ...]:
    """The stylesheets of one edition, in cascade order: base, medium, style, the user's own.

    The user's own are made whole (:mod:`exporter.userstyle`): *embed* gives the address
    of each file they name, a ``data:`` URL unless the edition packages files.
    """
    if options.style not in STYLES:
        known = ", ".join(STYLES)
        raise StyleError(f"unknown style {options.style!r}; choose one of {known} or a .css file")
    # The style comes after the medium's layer, so a style can set its own type size.
    names = ["base.css", MEDIA_LAYERS[edition_format], f"{options.style}.css"]
    if edition_format == "pdf":
        names.insert(0, "fonts.css")
    sheets = [_read_bundled(name) for name in names]
    for path in options.user_stylesheets:
        namespaces, body = resolve_parts(path, embed)
        sheets.append(Stylesheet(path.resolve(), body, namespaces))
    return tuple(sheets)


def join_stylesheets(sheets: Iterable[Stylesheet]) -> str:
    """One stylesheet of *sheets*, in order, with all their namespace rules first."""
    sheets = list(sheets)
    return "\n".join([*(sheet.namespaces for sheet in sheets if sheet.namespaces),
                      *(sheet.text for sheet in sheets)])


def is_inside(path: Path, roots: Iterable[Path]) -> bool:
    """True when *path*, links resolved, lies under one of *roots* (False when it cannot be
    resolved: a loop of links, a NUL in the name)."""
    try:
        resolved = path.resolve()
        return any(resolved.is_relative_to(root.resolve()) for root in roots)
    except (OSError, ValueError, RuntimeError):
        return False


def make_fetcher(roots: Iterable[Path]) -> Any:
    """A WeasyPrint URL fetcher that reads ``data:`` URLs and files under *roots*, only.

    Anything else (the network, other files, redirects) stops the render with
    :class:`RefusedFetch`, which the PDF edition reports as a resource error.
    """
    from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

    allowed = tuple(Path(root).resolve() for root in roots)

    class RefusedFetch(FatalURLFetchingError):
        """A fetch the offline policy does not allow."""

    class OfflineFetcher(URLFetcher):
        refused = RefusedFetch

        def __init__(self) -> None:
            super().__init__(allowed_protocols={"data", "file"}, allow_redirects=False)

        def fetch(self, url: str, headers: Any = None) -> Any:
            scheme = urlsplit(url).scheme.lower()
            if scheme == "data":
                return super().fetch(url, headers)
            if scheme == "file":
                path = Path(unquote(urlsplit(url).path))
                try:
                    readable = is_inside(path, allowed) and path.resolve().is_file()
                    data = path.resolve().read_bytes() if readable else None
                except (OSError, ValueError):
                    data = None
                if data is not None:
                    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                    return URLFetcherResponse(url, data, {"Content-Type": media_type})
            raise RefusedFetch(f"refused to read {url}: this tool works offline and reads only "
                               "data: URLs and files in the article's and stylesheets' folders")

    return OfflineFetcher()
