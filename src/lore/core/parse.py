"""Turn files into `ParsedDocument`s: choose a parser by format and translate its failures.

Parsers run in worker processes, so the entry points are plain top-level functions. Whatever goes wrong
inside a parsing library surfaces as `CorruptDocument` naming the file, never as the library's exception:

    >>> parse_bytes(b"Hello, world.", "hello.txt").title
    'Hello'
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path, PurePath

from lore.core.parsers import html, markdown, pdf, plain, word
from lore.errors import CorruptDocument, LoreError, UnsupportedFormat
from lore.models import ParsedDocument

Parser = Callable[[bytes, str], ParsedDocument]

_PARSERS: dict[str, Parser] = {
    ".txt": plain.parse,
    ".md": markdown.parse,
    ".markdown": markdown.parse,
    ".html": html.parse,
    ".htm": html.parse,
    ".pdf": pdf.parse,
    ".docx": word.parse,
}
SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(_PARSERS)

_CONTENT_TYPES = {
    "text/plain": ".txt",
    "text/markdown": ".md",
    "text/x-markdown": ".md",
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "application/pdf": ".pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
}
_MAGIC = (  # lower-cased, as the sniffed bytes are
    (b"%pdf-", ".pdf"),
    (b"pk\x03\x04", ".docx"),
    (b"<!doctype html", ".html"),
    (b"<html", ".html"),
)
_REASON_CHARS = 200


def parse_file(path: Path) -> ParsedDocument:
    """Parse a file on disk; its extension decides the format."""
    path = Path(path)
    extension = detect_format(path.name)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _corrupt(path.name, f"cannot be read ({exc.strerror or exc})") from exc
    return _run(_PARSERS[extension], data, path.name)


def parse_bytes(data: bytes, filename: str, content_type: str | None = None) -> ParsedDocument:
    """Parse an upload; the content type (or the bytes themselves) decide when the name has no extension."""
    name = PurePath(filename).name if filename else ""
    extension = detect_format(name, content_type, data)
    return _run(_PARSERS[extension], data, name or "upload")


def detect_format(filename: str, content_type: str | None = None, data: bytes = b"") -> str:
    """The extension whose parser handles this file, or `UnsupportedFormat`."""
    extension = PurePath(filename).suffix.lower() if filename else ""
    if extension:
        if extension not in _PARSERS:
            raise UnsupportedFormat(
                f"{filename}: unsupported file type {extension!r} "
                f"(supported: {', '.join(sorted(SUPPORTED_EXTENSIONS))})",
                details={"filename": filename, "extension": extension},
            )
        return extension
    media_type = (content_type or "").split(";")[0].strip().lower()
    guessed = _CONTENT_TYPES.get(media_type) or _sniff(data)
    if guessed is None:
        raise UnsupportedFormat(
            f"{filename or 'upload'}: cannot tell the file type (no extension, content type {media_type!r})",
            details={"filename": filename, "content_type": media_type},
        )
    return guessed


def _sniff(data: bytes) -> str | None:
    head = data[:1024].lstrip().lower()
    return next((extension for magic, extension in _MAGIC if head.startswith(magic)), None)


def _run(parser: Parser, data: bytes, name: str) -> ParsedDocument:
    try:
        return parser(data, name)
    except CorruptDocument as exc:
        raise _corrupt(name, exc.message) from exc
    except LoreError:
        raise
    except Exception as exc:  # any library failure on a bad file becomes one domain error
        raise _corrupt(name, f"{type(exc).__name__}: {exc}") from exc


def _corrupt(name: str, reason: str) -> CorruptDocument:
    reason = reason if len(reason) <= _REASON_CHARS else reason[: _REASON_CHARS - 1] + "…"
    return CorruptDocument(f"{name}: {reason}", details={"filename": name, "reason": reason})
