"""What an edition is made from: one article (a book of one), or several bound as a book with
its own metadata (``--book TITLE`` or ``--book book.yaml``)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import Diagnostic, MetadataError
from .metadata import IDENTIFIER_NAMESPACE, Metadata, read_metadata

if TYPE_CHECKING:
    from .assets import Asset
    from .document import Document


@dataclass(frozen=True)
class Book:
    """One or more documents and the metadata of the whole; editions only read it."""

    metadata: Metadata
    articles: tuple[Document, ...]
    #: Output file name without suffix.
    stem: str
    identifier: str
    modified: dt.datetime
    #: True when several articles are bound together (a title page, one chapter each).
    collection: bool = False
    #: The book file (``book.yaml``) it was bound by, and the articles given besides it.
    book_file: Path | None = None
    given: tuple[Path, ...] = ()
    #: What its own settings (a book file's) were warned of.
    own_warnings: tuple[Diagnostic, ...] = ()

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        """Its settings' warnings, then every article's, in order."""
        return self.own_warnings + tuple(w for article in self.articles for w in article.warnings)

    @property
    def assets(self) -> tuple[Asset, ...]:
        """Every image of every article, once each."""
        unique = {asset.name: asset for article in self.articles for asset in article.assets}
        return tuple(unique.values())

    @property
    def images(self) -> tuple[Path, ...]:
        """Every image file the articles' editions carry (covers included), as read."""
        return tuple(article.source.path.parent / asset.origin for article in self.articles
                     for asset in (*article.assets, article.cover) if asset and asset.origin)

    @property
    def digest(self) -> str:
        """SHA-256 naming this exact input: the sources in order."""
        joined = "\n".join(article.digest for article in self.articles)
        return hashlib.sha256(joined.encode("ascii")).hexdigest()

    def prefix(self, index: int) -> str:
        """The id prefix that keeps article *index*'s ids unique in a one-page edition."""
        return f"a{index + 1}-" if self.collection else ""


def single_book(document: Document) -> Book:
    """The book of one article."""
    return Book(document.metadata, (document,), document.stem, document.identifier,
                document.modified)


def collect_book(documents: list[Document], settings: dict[str, Any], path: Path,
                 source_date_epoch: int | None, book_file: Path | None = None,
                 given: tuple[Path, ...] = ()) -> Book:
    """Bind *documents* into one book whose metadata comes from *settings* (a book.yaml mapping)."""
    if not documents:
        raise MetadataError("a book needs at least one article", path=path)
    first = documents[0].metadata
    keys = {key: value for key, value in settings.items() if key != "articles"}
    keys.setdefault("language", first.language)
    if "author" not in keys and "authors" not in keys:
        authors = dict.fromkeys(a for d in documents for a in d.metadata.authors)
        keys["authors"] = list(authors) or None
    metadata, warnings = read_metadata(keys, path, "Collected articles")
    if metadata.cover:
        warnings += (Diagnostic("BOOK-COVER-UNUSED", "a book draws its own cover from its title; "
                                f"'cover: {metadata.cover}' is not used", str(path)),)
    # Without a date of its own, the book was last changed when its latest article was.
    dated = metadata.modified or (metadata.date and metadata.date.first_day)
    modified = (metadata.modified_at(source_date_epoch) if dated
                else max(document.modified for document in documents))
    key = "\x1f".join([metadata.title, *(d.identifier for d in documents)])
    identifier = metadata.identifier or f"urn:uuid:{uuid.uuid5(IDENTIFIER_NAMESPACE, key)}"
    return Book(metadata, tuple(documents), slugify(metadata.title), identifier, modified,
                collection=True, book_file=book_file, given=given, own_warnings=tuple(warnings))


def slugify(title: str) -> str:
    """A file name from a title: letters and digits in any script, joined by hyphens."""
    slug = re.sub(r"[^\w]+", "-", title.lower(), flags=re.UNICODE).strip("-_")
    return slug[:80] or "book"
