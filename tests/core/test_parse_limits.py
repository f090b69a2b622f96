"""What a document may expand to: PDF pages, page size and streams are bounded before the work is done; a file's
bytes must agree with its name; and failures are told in plain words."""

from __future__ import annotations

import dataclasses
import io
import zipfile

import pytest

from lore.config import Settings
from lore.core.parse import parse_bytes
from lore.core.parsers import ParseLimits
from lore.errors import CorruptDocument, DocumentTooLarge, FormatMismatch, UnsupportedFormat
from lore.service.ingestion import parse_limits
from tests import hostile
from tests.hostile import MIB


def too_large(data: bytes, name: str, limits: ParseLimits = ParseLimits()) -> DocumentTooLarge:
    with pytest.raises(DocumentTooLarge) as caught:
        parse_bytes(data, name, limits=limits)
    assert caught.value.details["filename"] == name
    return caught.value


def test_the_limits_are_the_settings_of_the_same_names_with_the_same_defaults() -> None:
    fields = Settings.setting_fields()
    for field in dataclasses.fields(ParseLimits):
        assert fields[field.name].default == field.default, field.name
    assert parse_limits(Settings(_env_file=None)) == ParseLimits()
    changed = parse_limits(Settings(_env_file=None, max_document_pages=7, max_zip_ratio=50))
    assert (changed.max_document_pages, changed.max_zip_ratio) == (7, 50)


# -- PDF ----------------------------------------------------------------------------------------------------


def test_streams_that_inflate_past_the_limit_are_refused_at_the_first() -> None:
    error = too_large(hostile.flate_bomb(20, 20 * MIB), "streams.pdf")
    assert error.message == (
        "streams.pdf: page 1 has more content than the stream limit allows; the limit is 16 MiB "
        "(LORE_MAX_STREAM_BYTES)"
    )
    assert error.details["setting"] == "LORE_MAX_STREAM_BYTES"


def test_a_stream_under_the_limit_is_read() -> None:
    assert "Hidden after the padding." in parse_bytes(hostile.flate_bomb(2, 2 * MIB), "padded.pdf").text


def test_more_pages_than_the_limit_are_refused_by_their_declared_count() -> None:
    error = too_large(hostile.pdf(20_000), "pages.pdf")
    assert (
        error.message == "pages.pdf: the PDF has 20,000 pages; the limit is 2,000 (LORE_MAX_DOCUMENT_PAGES)"
    )


def test_a_page_count_that_lies_does_not_hide_the_pages() -> None:
    def lying(pages: int) -> bytes:
        return hostile.pdf(pages).replace(b"/Count %d" % pages, b"/Count 1")

    small = ParseLimits(max_document_pages=10)
    assert too_large(lying(12), "a.pdf", small).message == (
        "a.pdf: the PDF has 12 pages; the limit is 10 (LORE_MAX_DOCUMENT_PAGES)"
    )
    assert too_large(lying(200), "b.pdf", small).message == (
        "b.pdf: the PDF's page tree holds more pages than it declares; the limit is 10 (LORE_MAX_DOCUMENT_PAGES)"
    )
    assert parse_bytes(lying(10), "c.pdf", limits=small).metadata["pages"] == 10


def test_a_page_larger_than_the_limit_is_refused_before_its_text_is_read() -> None:
    error = too_large(hostile.wall_page(14_400, lines=2000), "poster.pdf")
    assert error.message == (
        "poster.pdf: page 1 is 14,400 × 14,400 pt; the limit is 5,184 (LORE_MAX_PAGE_POINTS)"
    )
    scaled = hostile.pdf(1, mediabox=(2000, 1000)).replace(b"/MediaBox", b"/UserUnit 3 /MediaBox")
    assert too_large(scaled, "scaled.pdf").message.startswith("scaled.pdf: page 1 is 6,000 × 3,000 pt")
    assert parse_bytes(hostile.pdf(1, mediabox=(3370, 2384)), "a0.pdf").text  # A0 landscape is fine


# -- content sniffing -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "found"),
    [
        ("notes.txt", hostile.pdf(1), "it is a PDF"),
        ("notes.md", hostile.pdf(1), "it is a PDF"),
        ("page.html", b"PK\x03\x04rest of a zip", "it is a zip archive (such as a Word document)"),
        ("report.pdf", b"Just some text, honestly.", "its content is not a PDF"),
        ("letter.docx", b"%PDF-1.7 a PDF in disguise", "it is a PDF"),
    ],
)
def test_bytes_that_contradict_the_name_are_a_format_mismatch(name: str, data: bytes, found: str) -> None:
    with pytest.raises(FormatMismatch) as caught:
        parse_bytes(data, name)
    extension = name[name.rindex(".") :]
    assert caught.value.message.startswith(f"{name}: declared as ")
    assert caught.value.message.endswith(f"({extension}), but {found}")
    assert isinstance(caught.value, UnsupportedFormat)
    assert caught.value.code == "format_mismatch"


def test_a_content_type_that_contradicts_the_bytes_is_a_format_mismatch_too() -> None:
    with pytest.raises(FormatMismatch, match=r"^upload: declared as a PDF \(\.pdf\), but it is a zip"):
        parse_bytes(b"PK\x03\x04zip", "", "application/pdf")


def test_a_pdf_header_after_some_leading_bytes_is_still_a_pdf() -> None:
    assert parse_bytes(b"\r\n\x00junk" + hostile.pdf(1), "lead.pdf").title == "Hostile"


# -- plain messages -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("cut.pdf", hostile.pdf(1)[:300], "cannot be read as a PDF: the file is damaged or incomplete"),
        ("cut.docx", hostile.wordy_docx(20_000)[:-300], "cannot be read as a Word document: the file is"),
        ("wrong.docx", b"PK\x03\x04" + b"\x00" * 100, "cannot be read as a Word document: the file is"),
    ],
)
def test_corrupt_documents_are_told_in_plain_words(name: str, data: bytes, reason: str) -> None:
    with pytest.raises(CorruptDocument) as caught:
        parse_bytes(data, name)
    assert caught.value.message.startswith(f"{name}: {reason}")
    for library_word in ("Error", "Exception", "pypdf", "zipfile", "docx.", "KeyError"):
        assert library_word not in caught.value.message


def test_a_zip_that_is_no_word_document_is_corrupt_in_plain_words() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hello")
    with pytest.raises(CorruptDocument, match=r"^fake\.docx: cannot be read as a Word document"):
        parse_bytes(buffer.getvalue(), "fake.docx")
