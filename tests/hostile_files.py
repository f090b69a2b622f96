"""Hostile files, made by small generators: each quick to make and small to send (a zip bomb is kilobytes that
inflate to megabytes), each with the outcome an upload of it must have and why. Whatever the outcome, an
upload never gets a 5xx: it is indexed (201) or refused with a 4xx in the error shape, within a bounded time.

    >>> len(pdf(["Hello"])) < 1000
    True
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    ACCEPTED = "accepted"  # 201: a legitimate file, however odd, is indexed
    REFUSED = "refused"  # a 4xx in the error shape: nothing to index, or not what it claims to be
    EITHER = "either"  # both are right: a lenient parser may recover text, a strict one may refuse


@dataclass(frozen=True, slots=True)
class Hostile:
    name: str
    filename: str
    make: Callable[[], bytes]
    expect: Outcome
    why: str
    content_type: str = "application/octet-stream"


# -- PDF -----------------------------------------------------------------------------------------------------


def pdf(pages: list[str], media_box: str = "0 0 612 792") -> bytes:
    """A well-formed PDF with one page per text (Helvetica, one line each), with its cross-reference table."""
    page_ids = [4 + 2 * index for index in range(len(pages))]
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>"
        % (b" ".join(b"%d 0 R" % number for number in page_ids), len(pages)),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for number, text in zip(page_ids, pages, strict=True):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [%s] /Contents %d 0 R "
            b"/Resources << /Font << /F1 3 0 R >> >> >>" % (media_box.encode(), number + 1)
        )
        objects.append(_stream(b"BT /F1 12 Tf 72 720 Td (%s) Tj ET" % _pdf_string(text)))
    return _pdf_file(objects)


def pdf_sharing_one_page(pages: int, text: str = "The same page again.") -> bytes:
    """`pages` pages that all draw one content stream: many pages in few bytes."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>"
        % (b" ".join(b"%d 0 R" % (5 + index) for index in range(pages)), pages),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        _stream(b"BT /F1 12 Tf 72 720 Td (%s) Tj ET" % _pdf_string(text)),
    ]
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 3 0 R >> >> >>"
    return _pdf_file(objects + [page] * pages)


def pdf_with_looping_pages() -> bytes:
    """A page tree whose node lists itself as its own kid."""
    return _pdf_file([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>"])


def _stream(content: bytes) -> bytes:
    return b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content)


def _pdf_string(text: str) -> bytes:
    return text.encode("latin-1").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _pdf_file(objects: list[bytes]) -> bytes:
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


# -- DOCX ----------------------------------------------------------------------------------------------------

_CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    b'<Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/word/document.xml" ContentType="application/'
    b'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)
_RELS = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Target="word/document.xml" Type="http://schemas.openxmlformats.org/'
    b'officeDocument/2006/relationships/officeDocument"/></Relationships>'
)
_BODY_OPEN = (
    b'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
    b'wordprocessingml/2006/main"><w:body>'
)
_BODY_CLOSE = b"</w:body></w:document>"


def paragraph(text: str) -> bytes:
    return b"<w:p><w:r><w:t>%s</w:t></w:r></w:p>" % text.encode()


def docx(body: Iterable[bytes]) -> bytes:
    """A Word document whose body is the given XML pieces, deflated as they stream into the archive (so a
    body of many megabytes is made without holding it)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        with archive.open("word/document.xml", "w", force_zip64=True) as document:
            document.write(_BODY_OPEN)
            for piece in body:
                document.write(piece)
            document.write(_BODY_CLOSE)
    return out.getvalue()


def repeated(piece: bytes, total: int) -> Iterable[bytes]:
    """`piece` again and again, in megabyte writes, up to about `total` bytes."""
    block = piece * max(1, 2**20 // len(piece))
    for _ in range(max(1, total // len(block))):
        yield block


def zip_with_wrong_sizes() -> bytes:
    """A Word document whose central directory claims its body is 10 bytes long."""
    data = bytearray(docx([paragraph("Sizes that lie."), *repeated(b" ", 4 * 2**20)]))
    entry = data.rfind(b"PK\x01\x02")
    while entry != -1 and not data[entry + 46 :].startswith(b"word/document.xml"):
        entry = data.rfind(b"PK\x01\x02", 0, entry)
    data[entry + 24 : entry + 28] = (10).to_bytes(4, "little")  # the uncompressed size
    return bytes(data)


def zip_of_many_members(members: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("word/document.xml", _BODY_OPEN + paragraph("Crowded.") + _BODY_CLOSE)
        for index in range(members):
            archive.writestr(f"word/media/{index}.xml", b"")
    return out.getvalue()


# -- text formats --------------------------------------------------------------------------------------------


def nested_html(depth: int, tag: str = "div") -> bytes:
    return b"<html><body>" + f"<{tag}>".encode() * depth + b"deep" + f"</{tag}>".encode() * depth


def nested_lists(depth: int) -> bytes:
    return b"<html><body>" + b"<ul><li>item" * depth + b"</li></ul>" * depth


def unclosed_html(count: int) -> bytes:
    return b"<html><head><title>Never closed" + b"<p><b><i><table><tr><td>cell" * count


def html_with_charset(charset: str, body: bytes) -> bytes:
    return b'<html><head><meta charset="%s"><title>Charset</title></head><body><p>%s</p>' % (
        charset.encode(),
        body,
    )


def unpunctuated(words: int) -> bytes:
    """Text without a sentence break: one word after another."""
    vocabulary = [b"lorem", b"ipsum", b"dolor", b"sit", b"amet", b"tempor", b"magna", b"aliqua"]
    return b" ".join(vocabulary[index % len(vocabulary)] for index in range(words))


def headings(count: int) -> bytes:
    return b"# h\n" * count


A, R, E = Outcome.ACCEPTED, Outcome.REFUSED, Outcome.EITHER
HOSTILE: tuple[Hostile, ...] = (
    # PDF
    Hostile(
        "pdf-truncated",
        "cut.pdf",
        lambda: pdf(["Page one.", "Page two."])[:300],
        E,
        "cut before its cross-reference table: a lenient reader may still find page one",
    ),
    Hostile(
        "pdf-corrupt",
        "noise.pdf",
        lambda: b"%PDF-1.7\n" + bytes(range(256)) * 20,
        R,
        "a PDF header over noise: no page to read",
    ),
    Hostile(
        "pdf-page-tree-loop",
        "loop.pdf",
        pdf_with_looping_pages,
        R,
        "its page tree lists itself: walking it must stop, and there is no page",
    ),
    Hostile(
        "pdf-1000-pages",
        "pages.pdf",
        lambda: pdf_sharing_one_page(1000),
        A,
        "a long manual: a thousand pages of text",
    ),
    Hostile(
        "pdf-huge-mediabox",
        "poster.pdf",
        lambda: pdf(["A poster."], "0 0 14400 14400"),
        R,
        "a 200-inch page (PDF's largest): over LORE_MAX_PAGE_POINTS, where text extraction can explode",
    ),
    Hostile(
        "pdf-absurd-mediabox",
        "absurd.pdf",
        lambda: pdf(["Nowhere."], "0 0 1e300 -1e300"),
        E,
        "a page box beyond any real size: its text may be read or the page refused",
    ),
    Hostile(
        "pdf-named-md",
        "report.md",
        lambda: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + b"\x00\xff" * 200,
        R,
        "binary PDF bytes under a Markdown name: not text",
    ),
    # Word and zip
    Hostile(
        "docx-whitespace-bomb",
        "bomb.docx",
        lambda: docx([paragraph("Boom."), *repeated(b" ", 50 * 2**20)]),
        R,
        "52 KB that inflate to 50 MiB of whitespace: refused, by a zip guard or the XML parser's limit",
    ),
    Hostile(
        "docx-lying-sizes",
        "liar.docx",
        zip_with_wrong_sizes,
        R,
        "its central directory understates the body's size: the checksum cannot match",
    ),
    Hostile(
        "docx-5000-members",
        "crowded.docx",
        lambda: zip_of_many_members(5000),
        E,
        "a real body among 5,000 empty parts: indexed, or refused by a member count limit",
    ),
    Hostile(
        "docx-not-a-zip",
        "fake.docx",
        lambda: b"PK\x03\x04garbage" * 100,
        R,
        "a zip signature and nothing else",
    ),
    # HTML
    Hostile(
        "html-nested-400",
        "deep.html",
        lambda: nested_html(400),
        A,
        "400 nested divs: deep, but real pages nest this far",
    ),
    Hostile(
        "html-nested-10000",
        "deeper.html",
        lambda: nested_html(10_000),
        E,
        "10,000 nested divs: a parser that walks without recursion reads it; one may refuse the depth",
    ),
    Hostile(
        "html-nested-lists-100",
        "lists.html",
        lambda: nested_lists(100),
        A,
        "lists nested 100 deep, each item unclosed",
    ),
    Hostile(
        "html-unclosed-tags",
        "unclosed.html",
        lambda: b"<html><body>" + b"<p><b><i><table><tr><td>cell" * 5000,
        E,
        "25,000 tags never closed, each opening a table inside the last: as deep as it is long",
    ),
    Hostile(
        "html-bogus-charset",
        "charset.html",
        lambda: html_with_charset("x-bogus-999", "caf\xe9 cr\xe8me".encode("latin-1")),
        A,
        "an unknown declared charset over Latin-1 bytes: decoded somehow, not refused",
    ),
    # plain text and Markdown
    Hostile(
        "txt-bogus-charset-header",
        "menu.txt",
        lambda: "caf\xe9 cr\xe8me br\xfbl\xe9e".encode("latin-1") * 50,
        A,
        "Latin-1 bytes sent as text/plain with a charset no codec has",
        "text/plain; charset=x-bogus-999",
    ),
    Hostile(
        "txt-nul-bytes",
        "nul.txt",
        lambda: b"hello\x00world \x00\x00 more text here. " * 100,
        E,
        "NUL bytes mark binary content; a reader may also drop them and keep the text",
    ),
    Hostile(
        "txt-invalid-utf8",
        "bytes.txt",
        lambda: b"ok \xff\xfe\xc3\x28 \xa0\xa1 bytes " * 500,
        A,
        "stray bytes that are not UTF-8 among readable words",
    ),
    Hostile("txt-empty", "empty.txt", lambda: b"", R, "no text at all"),
    Hostile("txt-only-whitespace", "blank.txt", lambda: b" \n\t " * 1000, R, "nothing but whitespace"),
    Hostile(
        "txt-unpunctuated", "words.txt", lambda: unpunctuated(5000), A, "5,000 words and no sentence break"
    ),
    Hostile(
        "txt-one-long-word",
        "word.txt",
        lambda: b"a" * 300_000,
        A,
        "one 300,000-letter word: split or kept whole, but indexed",
    ),
    Hostile(
        "md-headings-200",
        "headings.md",
        lambda: headings(200),
        E,
        "200 headings without text: folded into few chunks, or refused by a chunk limit",
    ),
    Hostile(
        "md-blockquote-5000",
        "quotes.md",
        lambda: b">" * 5000 + b" deep quote",
        E,
        "a quote nested 5,000 deep: Markdown's nesting limit may leave no text",
    ),
    Hostile(
        "md-nested-list-300",
        "list.md",
        lambda: b"".join(b"  " * i + b"- item\n" for i in range(300)),
        A,
        "a list indented 300 levels: Markdown reads deep indents as code",
    ),
    # names and types
    Hostile(
        "name-with-path",
        "../../etc/passwd.txt",
        lambda: b"A file whose name climbs folders.",
        A,
        "only the name's last part matters; nothing is written to disk",
    ),
    Hostile(
        "name-with-control-characters",
        "a\x00b\nc.txt",
        lambda: b"Control characters in a name.",
        A,
        "a name is a label, escaped where it is shown",
    ),
    Hostile(
        "name-5000-characters",
        "x" * 5000 + ".txt",
        lambda: b"A very long name.",
        R,
        "a part header longer than any real file name",
    ),
    Hostile(
        "html-nested-600",
        "deep600.html",
        lambda: nested_html(600),
        A,
        "600 nested divs: past where a recursive walk gave up, and still a legitimate page",
    ),
    Hostile(
        "html-nested-100000",
        "deep100k.html",
        lambda: nested_html(100_000),
        R,
        "100,000 nested divs: refused by the nesting check before the HTML parser's quadratic tree building",
    ),
    Hostile(
        "html-nested-lists-300",
        "lists300.html",
        lambda: nested_lists(300),
        A,
        "lists nested 300 deep: read in one pass, indents capped",
    ),
    Hostile(
        "txt-unpunctuated-16000",
        "words16k.txt",
        lambda: unpunctuated(16_000),
        A,
        "16,000 words with no sentence break: packed into chunks in linear time",
    ),
    Hostile(
        "md-2000-headings",
        "headings2k.md",
        lambda: headings(2000),
        E,
        "2,000 headings with no text: folded into few chunks, or nothing left to index",
    ),
    Hostile(
        "pdf-named-txt",
        "manual.txt",
        lambda: pdf(["Reset your password in Settings."]),
        R,
        "PDF bytes under a text name: refused as format_mismatch, not indexed as text",
    ),
    Hostile("unsupported-extension", "setup.exe", lambda: b"MZ" * 100, R, "not a format Lore reads"),
    Hostile(
        "no-extension-unknown-type",
        "upload",
        lambda: b"hello",
        R,
        "no extension and bytes that name no format",
    ),
)

# Seeds whose mutations (truncations, overwritten and inserted bytes) are fuzzed within the budget.
MUTATED: tuple[tuple[str, Callable[[], bytes]], ...] = (
    ("manual.pdf", lambda: pdf(["Reset your password in Settings.", "Billing runs monthly."])),
    ("letter.docx", lambda: docx([paragraph("Dear customer,"), paragraph("Your invoice is attached.")])),
    (
        "page.html",
        lambda: b"<html><head><title>Help</title></head><body><h1>Help</h1><ul><li>One<li>Two</ul>",
    ),
    ("notes.md", lambda: b"# Notes\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n> quoted\n\n- item\n  - sub item\n"),
)


def mutate(data: bytes, edits: Iterable[tuple[str, int, bytes]]) -> bytes:
    """Apply (kind, position, bytes) edits in turn: `cut` keeps what is before the position, `overwrite` and
    `insert` put the bytes there."""
    out = bytearray(data)
    for kind, position, piece in edits:
        at = position % (len(out) + 1)
        if kind == "cut":
            del out[at:]
        elif kind == "overwrite":
            out[at : at + len(piece)] = piece
        else:
            out[at:at] = piece
    return bytes(out)
