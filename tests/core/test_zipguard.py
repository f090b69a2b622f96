"""The zip guard: bombs are refused from their directory, or while their parts stream, before they go off."""

from __future__ import annotations

import io
import random
import struct
import zipfile

import pytest

from lore.core.parse import parse_bytes
from lore.core.parsers import ParseLimits, zipguard
from lore.errors import CorruptDocument, DocumentTooLarge
from tests import hostile
from tests.hostile import MIB


def zip_of(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def refusal(data: bytes, limits: ParseLimits = ParseLimits()) -> DocumentTooLarge:
    with pytest.raises(DocumentTooLarge) as caught:
        zipguard.check(data, limits)
    return caught.value


def test_an_ordinary_word_document_passes() -> None:
    zipguard.check(hostile.wordy_docx(256 * 1024), ParseLimits())
    zipguard.check(zip_of({"a.xml": b"<a/>", "image.png": random.Random(1).randbytes(50_000)}), ParseLimits())


def test_a_declared_total_over_the_limit_is_refused_from_the_directory() -> None:
    error = refusal(hostile.deflated_member_zip(40 * MIB), ParseLimits(max_unzipped_bytes=32 * MIB))
    assert error.message == "its parts unpack to 40 MiB; the limit is 32 MiB (LORE_MAX_UNZIPPED_BYTES)"
    assert error.details == {"limit": 32 * MIB, "setting": "LORE_MAX_UNZIPPED_BYTES"}


def test_a_part_compressed_beyond_the_ratio_is_refused() -> None:
    error = refusal(hostile.whitespace_bomb(16 * MIB))
    assert error.message.startswith("part 'word/document.xml' expands 1,0")
    assert error.message.endswith("-fold (to 16 MiB); the limit is 200 (LORE_MAX_ZIP_RATIO)")


def test_small_parts_may_compress_as_well_as_they_like() -> None:
    zipguard.check(zip_of({"styles.xml": b" " * (zipguard.RATIO_FLOOR - 1)}), ParseLimits())


def test_a_part_that_understates_its_size_is_stopped_at_the_bound_while_it_streams() -> None:
    """Its stream is garbage past the first few MiB: stopping at the bound is the only way not to notice."""
    data = bytearray(hostile.deflated_member_zip(64 * MIB))
    member = zipfile.ZipFile(io.BytesIO(bytes(data))).infolist()[0]
    end = member.header_offset + 30 + len(member.filename) + member.compress_size
    data[end - member.compress_size // 2 : end] = random.Random(2).randbytes(member.compress_size // 2)
    lying = hostile.understate_size(bytes(data), member.filename, 1000)
    limits = ParseLimits(max_unzipped_bytes=8 * MIB, max_zip_ratio=1e9)
    error = refusal(lying, limits)
    assert error.message == (
        "its parts unpack to more than their directory says; the limit is 8 MiB (LORE_MAX_UNZIPPED_BYTES)"
    )
    ratio = refusal(lying, ParseLimits(max_zip_ratio=100))
    assert ratio.message == (
        "part 'word/document.xml' expands more than 100-fold as it unpacks; the limit is 100 (LORE_MAX_ZIP_RATIO)"
    )


def test_a_part_of_another_size_than_declared_is_corrupt() -> None:
    data = zip_of({"word/document.xml": b"<w:document/>" * 100})
    for declared in (10, 100_000):
        with pytest.raises(CorruptDocument, match="is not the size its directory entry says"):
            zipguard.check(hostile.understate_size(data, "word/document.xml", declared), ParseLimits())


def test_too_many_parts_are_refused() -> None:
    data = zip_of({f"p{i}": b"" for i in range(zipguard.MAX_MEMBERS + 1)}, zipfile.ZIP_STORED)
    assert refusal(data).message == "the archive holds 10,001 parts, over the limit of 10,000"


def with_compressed_size(data: bytes, size: int) -> bytes:
    """The zip (of one member) with its directory's compressed size of that member set to `size`."""
    out = bytearray(data)
    struct.pack_into("<I", out, out.find(b"PK\x01\x02") + 20, size)
    return bytes(out)


def test_parts_cut_short_or_with_damaged_headers_are_corrupt() -> None:
    stored = zip_of({"word/document.xml": random.Random(3).randbytes(5000)}, zipfile.ZIP_STORED)
    deflated = zip_of({"word/document.xml": random.Random(4).randbytes(200_000)})
    member = zipfile.ZipFile(io.BytesIO(deflated)).infolist()[0]
    damaged = {
        "part 'word/document.xml' is cut short": with_compressed_size(stored, 10**6),
        "a part is cut short": with_compressed_size(deflated, member.compress_size // 2),
        "part 'word/document.xml' has a damaged header": stored.replace(b"PK\x03\x04", b"PK\x00\x00", 1),
    }
    for reason, data in damaged.items():
        with pytest.raises(CorruptDocument, match=f"^{reason}$"):
            zipguard.check(data, ParseLimits())


def test_encrypted_parts_and_other_compression_methods_are_refused() -> None:
    encrypted = bytearray(zip_of({"a.xml": b"<a/>"}, zipfile.ZIP_STORED))
    for signature, flags_at in ((b"PK\x01\x02", 8), (b"PK\x03\x04", 6)):
        encrypted[encrypted.find(signature) + flags_at] |= 0x1
    with pytest.raises(CorruptDocument, match=r"'a\.xml' is encrypted"):
        zipguard.check(bytes(encrypted), ParseLimits())
    with pytest.raises(CorruptDocument, match="unsupported compression method"):
        zipguard.check(zip_of({"a.xml": b"<a/>"}, zipfile.ZIP_BZIP2), ParseLimits())


def test_word_bombs_fail_with_the_setting_named_before_python_docx_reads_them() -> None:
    for bomb in (hostile.whitespace_bomb(64 * MIB), hostile.paragraph_bomb(8 * MIB)):
        with pytest.raises(
            DocumentTooLarge, match=r"^bomb\.docx: part 'word/document\.xml' expands"
        ) as caught:
            parse_bytes(bomb, "bomb.docx")
        assert caught.value.details["setting"] == "LORE_MAX_ZIP_RATIO"
        assert caught.value.details["filename"] == "bomb.docx"
