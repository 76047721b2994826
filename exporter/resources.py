"""Where the bundled stylesheets and fonts live, and which files an edition may read (the PDF's
fetcher admits ``data:`` URLs and files under the allowed folders only)."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from .errors import StyleError
from .options import Options
from .userstyle import Embed, data_url, resolve_parts

#: The media an edition is read in, each with its own layer of CSS.
MEDIA_LAYERS = {"html": "screen.css", "epub": "ereader.css", "pdf": "paged.css"}


@functools.cache
def styles_dir() -> Path:
    """The folder of bundled stylesheets and fonts: ``exporter/styles`` once installed, else the
    checkout's ``styles/``."""
    for folder in (Path(__file__).parent / "styles", Path(__file__).resolve().parent.parent / "styles"):
        if folder.is_dir():
            return folder
    raise StyleError("the bundled styles folder is missing; reinstall exporter")


@dataclass(frozen=True)
class Stylesheet:
    """A stylesheet's text and the file it came from (for resolving its ``url()``s)."""

    path: Path
    text: str
    #: Its ``@namespace`` rules, which must come before every other rule of a joined sheet.
    namespaces: str = ""


@functools.cache
def read_bundled(name: str) -> Stylesheet:
    """The bundled stylesheet *name* (a path under the styles folder)."""
    path = styles_dir() / name
    return Stylesheet(path, path.read_text(encoding="utf-8"))


def stylesheets_for(edition_format: str, options: Options,
                    embed: Embed = data_url) -> tuple[Stylesheet, ...]:
    """The stylesheets of one edition in cascade order: base, medium, style, the user's own (made
    whole, *embed* giving the address of each file they name)."""
    # The style comes after the medium's layer, so a style can set its own type size.
    names = ["base.css", MEDIA_LAYERS[edition_format], f"{options.style}.css"]
    sheets = [read_bundled(name) for name in names]
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
    """A WeasyPrint URL fetcher that reads ``data:`` URLs and files under *roots* only; anything else
    stops the render with a ``FatalURLFetchingError``, reported as a resource error."""
    import mimetypes

    from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

    allowed = tuple(Path(root).resolve() for root in roots)

    class OfflineFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            scheme = urlsplit(url).scheme.lower()
            if scheme == "data":
                return super().fetch(url, headers)
            path, data = Path(unquote(urlsplit(url).path)), None
            if scheme == "file" and is_inside(path, allowed):
                with contextlib.suppress(OSError, ValueError):
                    real = path.resolve()
                    data = real.read_bytes() if real.is_file() else None  # (never a pipe)
            if data is None:
                raise FatalURLFetchingError(f"refused to read {url}: this tool works offline and reads "
                                            "only data: URLs and files in the article's and "
                                            "stylesheets' folders")
            media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, data, {"Content-Type": media_type})

    return OfflineFetcher(allowed_protocols={"data", "file"}, allow_redirects=False)
