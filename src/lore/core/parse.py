"""Turn files into `ParsedDocument`s: choose a parser by format and translate its failures.

A file's format comes from its name (or its content type) and must agree with its bytes: a PDF renamed `.txt`
is refused, not indexed as text. Whatever goes wrong inside a parsing library surfaces as `CorruptDocument`
naming the file in plain words, never as the library's exception. These functions run in the parsing sandbox's
worker processes (`lore.core.sandbox`), which bound their time and memory:

    >>> parse_bytes(b"Hello, world.", "hello.txt").title
    'Hello'
"""

from __future__ import annotations

import importlib
from pathlib import Path, PurePath

from lore.core.parsers import ParseLimits
from lore.errors import CorruptDocument, FormatMismatch, LoreError, UnsupportedFormat
from lore.models import ParsedDocument

# Extension -> parser module, imported on first use: a worker that only ever sees text loads no PDF or Word
# library. Formats that can expand far beyond their file size take the limits as a third argument.
_PARSERS: dict[str, str] = {
    ".txt": "plain",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "word",
}
_BOUNDED = frozenset({"pdf", "word"})
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
# What each format is called in messages, and the binary formats whose bytes say what they are.
_KINDS = {".pdf": "a PDF", ".docx": "a Word document", ".html": "a web page", ".htm": "a web page"}
_BINARY_MAGIC = ((b"%PDF-", "a PDF"), (b"PK\x03\x04", "a zip archive (such as a Word document)"))
_PDF_HEADER_WINDOW = 1024  # readers accept the %PDF- header anywhere in the first kilobyte
_REASON_CHARS = 200


def parse_file(path: Path, limits: ParseLimits = ParseLimits()) -> ParsedDocument:
    """Parse a file on disk; its extension decides the format, which its bytes must agree with."""
    path = Path(path)
    extension = detect_format(path.name)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _corrupt(path.name, f"cannot be read ({exc.strerror or exc})") from exc
    return _run(extension, data, path.name, limits)


def parse_bytes(
    data: bytes, filename: str, content_type: str | None = None, limits: ParseLimits = ParseLimits()
) -> ParsedDocument:
    """Parse an upload; the content type (or the bytes themselves) decide when the name has no extension."""
    name = PurePath(filename).name if filename else ""
    extension = detect_format(name, content_type, data)
    return _run(extension, data, name or "upload", limits)


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


def check_content(extension: str, data: bytes, name: str) -> None:
    """`FormatMismatch` when the bytes are plainly another format than `extension` says."""
    actual = next((kind for magic, kind in _BINARY_MAGIC if data.startswith(magic)), None)
    if extension == ".pdf":
        wrong = bool(data) and b"%PDF-" not in data[:_PDF_HEADER_WINDOW]
    elif extension == ".docx":
        wrong = bool(data) and not data.startswith(b"PK\x03\x04")
    else:
        wrong = actual is not None
    if wrong:
        expected = _KINDS.get(extension, "text")
        found = f"it is {actual}" if actual else f"its content is not {expected}"
        raise FormatMismatch(
            f"{name}: declared as {expected} ({extension}), but {found}",
            details={"filename": name, "extension": extension},
        )


def _run(extension: str, data: bytes, name: str, limits: ParseLimits) -> ParsedDocument:
    check_content(extension, data, name)
    try:
        return _parse_as(_PARSERS[extension], data, name, limits)
    except LoreError as exc:
        raise _named(name, exc) from exc
    except MemoryError:
        raise  # the sandbox reports it against its memory limit
    except Exception as exc:  # any library failure on a bad file becomes one plain domain error
        kind = _KINDS.get(extension, "a text file")
        raise _corrupt(name, f"cannot be read as {kind}: the file is damaged or incomplete") from exc


def _parse_as(module_name: str, data: bytes, name: str, limits: ParseLimits) -> ParsedDocument:
    module = importlib.import_module(f"lore.core.parsers.{module_name}")
    parsed: ParsedDocument = (
        module.parse(data, name, limits) if module_name in _BOUNDED else module.parse(data, name)
    )
    return parsed


def _named(name: str, error: LoreError) -> LoreError:
    """The parser's error again, with the file's name in front of its message and in its details."""
    reason = error.message
    reason = reason if len(reason) <= _REASON_CHARS else reason[: _REASON_CHARS - 1] + "…"
    return type(error)(f"{name}: {reason}", details={"filename": name, "reason": reason, **error.details})


def _corrupt(name: str, reason: str) -> CorruptDocument:
    return CorruptDocument(f"{name}: {reason}", details={"filename": name, "reason": reason})
