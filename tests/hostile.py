"""Hostile documents, made small and fast: zip bombs in Word's clothing and PDFs whose few bytes ask for
enormous work (many pages, a page the size of a wall, streams that inflate a thousandfold)."""

from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib

import docx

MIB = 1024 * 1024
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_BODY_START = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="{_W}"><w:body>'
_BODY_END = "</w:body></w:document>"


def paragraph(text: str) -> str:
    return f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>"


def docx_with_body(pieces: list[bytes] | None = None, repeat: int = 1) -> bytes:
    """A real Word package whose word/document.xml is `pieces` (repeated) between the body's tags, streamed
    into the zip so that no copy of the whole part is ever held."""
    template = io.BytesIO()
    docx.Document().save(template)
    out = io.BytesIO()
    with zipfile.ZipFile(template) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            if item.filename != "word/document.xml":
                target.writestr(item, source.read(item))
                continue
            with target.open("word/document.xml", "w", force_zip64=True) as part:
                part.write(_BODY_START.encode())
                for _ in range(repeat):
                    for piece in pieces or []:
                        part.write(piece)
                part.write(paragraph("The end.").encode() + _BODY_END.encode())
    return out.getvalue()


def whitespace_bomb(size: int) -> bytes:
    """A DOCX whose body is `size` bytes of whitespace around one paragraph: the prober's 3 GiB in 3.1 MB."""
    return docx_with_body([b" " * MIB], repeat=max(1, size // MIB))


def paragraph_bomb(size: int) -> bytes:
    """A DOCX of `size` bytes of identical paragraphs: compresses some 300-fold, and python-docx chews on every one."""
    block = "".join(paragraph("All work and no play.") for _ in range(4096)).encode()
    return docx_with_body([block], repeat=max(1, size // len(block)))


def wordy_docx(size: int, seed: int = 7) -> bytes:
    """A DOCX of `size` bytes of varied paragraphs: it compresses like real prose, so only its bulk is hostile."""
    rng = random.Random(seed)
    words = ["".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 9))) for _ in range(5000)]
    block = "".join(paragraph(" ".join(rng.choices(words, k=12))) for _ in range(2000)).encode()
    return docx_with_body([block], repeat=max(1, size // len(block)))


def understate_size(data: bytes, member: str, declared: int) -> bytes:
    """The zip with `member`'s recorded uncompressed size replaced by `declared` (a lie its bytes contradict)."""
    out = bytearray(data)
    name = member.encode()
    for signature, size_at, name_length_at, header in (
        (b"PK\x01\x02", 24, 28, 46),
        (b"PK\x03\x04", 22, 26, 30),
    ):
        start = out.find(signature)
        while start != -1:
            (length,) = struct.unpack_from("<H", out, start + name_length_at)
            if bytes(out[start + header : start + header + length]) == name:
                struct.pack_into("<I", out, start + size_at, declared)
            start = out.find(signature, start + 4)
    return bytes(out)


def deflated_member_zip(size: int, name: str = "word/document.xml") -> bytes:
    """A bare zip with one deflated member of `size` zero bytes (a classic bomb: ratio about 1000)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open(name, "w", force_zip64=True) as part,
    ):
        for _ in range(size // MIB):
            part.write(bytes(MIB))
    return out.getvalue()


# -- PDFs ------------------------------------------------------------------------------------------------------


def text_ops(lines: list[str], size: float = 11) -> bytes:
    shown = b"".join(b"(%s) Tj T*\n" % line.encode("latin-1") for line in lines)
    return b"BT /F1 %g Tf %g TL 72 720 Td\n" % (size, size * 1.3) + shown + b"ET"


def pdf(
    pages: int = 1,
    content: bytes | None = None,
    *,
    mediabox: tuple[float, float] = (612, 792),
    flate: bool = False,
    distinct_streams: bool = False,
) -> bytes:
    """A valid PDF of `pages` pages showing `content` (one shared content stream, or one per page)."""
    content = content if content is not None else text_ops(["Quarterly report: all is well."])
    body = zlib.compress(content, 9) if flate else content
    filters = b" /Filter /FlateDecode" if flate else b""
    stream = b"<< /Length %d%s >>\nstream\n%s\nendstream" % (len(body), filters, body)
    first_page = 5
    streams = pages if distinct_streams else 1
    kids = " ".join(f"{first_page + streams + i} 0 R" for i in range(pages)).encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Title (Hostile) >>",
        *([stream] * streams),
    ]
    width, height = mediabox
    for index in range(pages):
        contents = first_page + (index if distinct_streams else 0)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %g %g] /Resources << /Font << /F1 3 0 R >> >> "
            b"/Contents %d 0 R >>" % (width, height, contents)
        )
    return _pdf_file(objects)


def _pdf_file(objects: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 4 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def flate_bomb(pages: int, inflated: int) -> bytes:
    """`pages` pages, each a flate stream of `inflated` bytes of whitespace before a line of text: the prober's
    twenty 70 MiB streams in 1.4 MB."""
    content = b" " * inflated + text_ops(["Hidden after the padding."])
    return pdf(pages, content, flate=True, distinct_streams=True)


def wall_page(points: float = 14_400, lines: int = 100) -> bytes:
    """One page `points` on a side, covered in `lines` lines of tiny text (400 characters each)."""
    return pdf(1, text_ops(["tiny text " * 40] * lines, size=1), mediabox=(points, points), flate=True)


def busy_pdf(operations: int) -> bytes:
    """One page whose small compressed content stream shows `operations` one-letter strings: little to store,
    much to interpret."""
    return pdf(1, b"BT /F1 1 Tf 10 10 Td " + b"(x) Tj " * operations + b"ET", flate=True)
