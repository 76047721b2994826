"""Validate and normalise front matter into a typed, immutable :class:`Metadata`."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import Diagnostic, MetadataError

# BCP 47 language tags, simplified: a primary subtag and optional subtags.
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")
# The namespace of every identifier this tool derives, so they never clash with others.
IDENTIFIER_NAMESPACE = uuid.UUID("5b0c4f7e-2d1a-5e0f-9a43-6f1e2c3b7d10")

KNOWN_KEYS = {
    "title": "the article's title",
    "subtitle": "a subtitle shown under the title",
    "author": "an author, or a list of authors",
    "authors": "a list of authors",
    "date": "publication date (YYYY-MM-DD)",
    "modified": "date and time of the last change (ISO 8601)",
    "language": "BCP 47 language tag, e.g. en or uk",
    "lang": "same as language",
    "description": "a one-paragraph summary",
    "subjects": "a list of subjects",
    "keywords": "same as subjects",
    "tags": "same as subjects",
    "identifier": "a stable identifier (URN, DOI, ISBN, URL)",
    "publisher": "the publisher's name",
    "rights": "copyright or licence statement",
    "source": "address of the original publication",
    "cover": "a PNG or JPEG cover image in the article's folder (else one is drawn)",
}


@dataclass(frozen=True)
class Metadata:
    """What is known about an article, every value already checked."""

    title: str
    language: str = "en"
    subtitle: str | None = None
    authors: tuple[str, ...] = ()
    date: dt.date | None = None
    modified: dt.datetime | None = None
    description: str | None = None
    subjects: tuple[str, ...] = ()
    identifier: str | None = None
    publisher: str | None = None
    rights: str | None = None
    source_url: str | None = None
    #: An image file for the cover, relative to the article's folder.
    cover: str | None = None

    def derived_identifier(self) -> str:
        """The front matter's identifier, else a ``urn:uuid`` derived from title, date and authors."""
        if self.identifier:
            return self.identifier
        key = "\x1f".join([self.title, self.date.isoformat() if self.date else "", *self.authors])
        return f"urn:uuid:{uuid.uuid5(IDENTIFIER_NAMESPACE, key)}"

    def modified_at(self, source_date_epoch: int | None) -> dt.datetime:
        """The moment the editions claim as their last change, in UTC: never the wall clock.

        In order: ``modified`` from the front matter, ``date`` at midnight UTC,
        ``SOURCE_DATE_EPOCH``, and last the ZIP epoch 1980-01-01.
        """
        if self.modified is not None:
            return self.modified
        if self.date is not None:
            return dt.datetime(self.date.year, self.date.month, self.date.day, tzinfo=dt.UTC)
        if source_date_epoch is not None:
            return dt.datetime.fromtimestamp(source_date_epoch, tz=dt.UTC)
        return dt.datetime(1980, 1, 1, tzinfo=dt.UTC)


def read_metadata(
    front_matter: dict[str, Any], path: Path, fallback_title: str
) -> tuple[Metadata, tuple[Diagnostic, ...]]:
    """Check *front_matter* and return the :class:`Metadata` with any warnings."""
    warnings = [
        Diagnostic("META-UNKNOWN", f"unknown front matter key {key!r} ignored", str(path))
        for key in front_matter
        if key not in KNOWN_KEYS
    ]
    get = front_matter.get
    title = _text(get("title"), "title", path) or fallback_title
    language = _text(get("language", get("lang")), "language", path) or "en"
    if not _LANGUAGE.match(language):
        raise MetadataError(f"language {language!r} is not a BCP 47 tag such as 'en'", path=path)
    authors = _text_list(get("authors", get("author")), "author", path)
    subjects = _text_list(get("subjects", get("keywords", get("tags"))), "subjects", path)
    metadata = Metadata(
        title=title,
        language=language,
        subtitle=_text(get("subtitle"), "subtitle", path),
        authors=authors,
        date=_date(get("date"), path),
        modified=_datetime(get("modified"), path),
        description=_text(get("description"), "description", path),
        subjects=subjects,
        identifier=_text(get("identifier"), "identifier", path),
        publisher=_text(get("publisher"), "publisher", path),
        rights=_text(get("rights"), "rights", path),
        source_url=_text(get("source"), "source", path),
        cover=_text(get("cover"), "cover", path),
    )
    return metadata, tuple(warnings)


def _text(value: Any, key: str, path: Path) -> str | None:
    if value is None:
        return None
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        text = " ".join(str(value).split())
        return text or None
    raise MetadataError(f"{key!r} must be text, not {type(value).__name__}", path=path)


def _text_list(value: Any, key: str, path: Path) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    texts = (_text(item, key, path) for item in items)
    return tuple(text for text in texts if text)


def _date(value: Any, path: Path) -> dt.date | None:
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
    raise MetadataError(f"date {value!r} is not a date such as 2025-11-03", path=path)


def _datetime(value: Any, path: Path) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise MetadataError(
                f"modified {value!r} is not a date and time such as 2025-11-03T12:00:00Z", path=path
            ) from None
    if not isinstance(value, dt.datetime):
        raise MetadataError("modified must be a date and time", path=path)
    moment: dt.datetime = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)
