"""Zip bombs are stopped before they go off: `check` runs before any library reads a zip container's parts.

First the central directory's declared sizes are checked (member count, total size, compression ratio); then
each member's compressed bytes are inflated as a stream whose output is counted and thrown away, stopping as
soon as a member's real size passes its bound, so a member that lies about its size is caught too. Any
zip-based format (DOCX today) calls it first.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from lore.core.parsers import MIB, ParseLimits, amount, over_limit
from lore.errors import CorruptDocument, DocumentTooLarge

MAX_MEMBERS = 10_000
RATIO_FLOOR = MIB  # a member that expands to less than this may compress as well as it likes
_CHUNK = MIB
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature ... file name length, extra field length
_LOCAL_SIGNATURE = b"PK\x03\x04"


def check(data: bytes, limits: ParseLimits) -> None:
    """Refuse `data` (a zip file) if unpacking it would pass `limits`; `zipfile.BadZipFile` if it is no zip."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = archive.infolist()
    _check_declared(members, limits)
    budget = limits.max_unzipped_bytes
    view = memoryview(data)
    for member in members:
        budget -= _check_member(view, member, limits, budget)


def _check_declared(members: list[zipfile.ZipInfo], limits: ParseLimits) -> None:
    if len(members) > MAX_MEMBERS:
        raise DocumentTooLarge(f"the archive holds {len(members):,} parts, over the limit of {MAX_MEMBERS:,}")
    declared = sum(member.file_size for member in members)
    if declared > limits.max_unzipped_bytes:
        raise over_limit(f"its parts unpack to {amount(declared)}", limits, "max_unzipped_bytes")
    for member in members:
        if member.file_size > _ratio_cap(member, limits):
            ratio = member.file_size / max(member.compress_size, 1)
            what = f"part {member.filename!r} expands {ratio:,.0f}-fold (to {amount(member.file_size)})"
            raise over_limit(what, limits, "max_zip_ratio")


def _check_member(data: memoryview, member: zipfile.ZipInfo, limits: ParseLimits, budget: int) -> int:
    """The member's real unpacked size, counted while inflating, up to the first bound it passes."""
    if member.flag_bits & 0x1:
        raise CorruptDocument(f"part {member.filename!r} is encrypted")
    stored = _compressed_bytes(data, member)
    if member.compress_type == zipfile.ZIP_STORED:
        size = len(stored)
    elif member.compress_type == zipfile.ZIP_DEFLATED:
        size = _inflated_size(stored, min(budget, _ratio_cap(member, limits)))
    else:
        raise CorruptDocument(f"part {member.filename!r} uses an unsupported compression method")
    if size > budget:
        raise over_limit("its parts unpack to more than their directory says", limits, "max_unzipped_bytes")
    if size > _ratio_cap(member, limits):
        what = f"part {member.filename!r} expands more than {limits.max_zip_ratio:,g}-fold as it unpacks"
        raise over_limit(what, limits, "max_zip_ratio")
    if size != member.file_size:
        raise CorruptDocument(f"part {member.filename!r} is not the size its directory entry says")
    return size


def _compressed_bytes(data: memoryview, member: zipfile.ZipInfo) -> memoryview:
    """The member's compressed bytes, found through its local header as zip readers find them."""
    start = member.header_offset
    header = data[start : start + _LOCAL_HEADER.size]
    if len(header) < _LOCAL_HEADER.size:
        raise CorruptDocument(f"part {member.filename!r} lies outside the file")
    signature, name_length, extra_length = _LOCAL_HEADER.unpack(header)
    if signature != _LOCAL_SIGNATURE:
        raise CorruptDocument(f"part {member.filename!r} has a damaged header")
    begin = start + _LOCAL_HEADER.size + name_length + extra_length
    stored = data[begin : begin + member.compress_size]
    if len(stored) < member.compress_size:
        raise CorruptDocument(f"part {member.filename!r} is cut short")
    return stored


def _inflated_size(stored: memoryview, bound: int) -> int:
    """Bytes a raw deflate stream inflates to, counted a chunk at a time and stopping once past `bound`."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    size = 0
    for start in range(0, len(stored), _CHUNK):
        pending: bytes | memoryview = stored[start : start + _CHUNK]
        while pending and size <= bound and not inflater.eof:
            size += len(inflater.decompress(pending, _CHUNK))
            pending = inflater.unconsumed_tail
        if size > bound or inflater.eof:
            break
    while size <= bound and not inflater.eof and (out := inflater.decompress(b"", _CHUNK)):
        size += len(out)  # what the last input still holds
    if size <= bound and not inflater.eof:
        raise CorruptDocument("a part is cut short")
    return size


def _ratio_cap(member: zipfile.ZipInfo, limits: ParseLimits) -> int:
    return max(RATIO_FLOOR, int(limits.max_zip_ratio * member.compress_size))
