"""Parsing real files of every supported format, and failing cleanly on bad ones."""

from __future__ import annotations

import contextlib
import io
import pickle
import random
import zipfile
from collections.abc import Callable
from pathlib import Path

import docx
import pytest

from lore.core.parse import SUPPORTED_EXTENSIONS, detect_format, parse_bytes, parse_file
from lore.demo import demo_dir
from lore.errors import CorruptDocument, DocumentTooComplex, LoreError, UnsupportedFormat
from lore.models import Block, ParsedDocument


def make_pdf(pages: list[list[str]], title: str | None = None) -> bytes:
    """A minimal valid PDF: one Helvetica text line per string, pages in order, optional /Title."""
    count = len(pages)
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(count))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {count} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for index, lines in enumerate(pages):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (5 + 2 * index)
        )
        stream = _text_stream(lines)
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    if title is not None:
        objects.append(b"<< /Title (%s) >>" % _pdf_string(title))
    return _pdf_file(objects, info=len(objects) if title is not None else None)


def _pdf_string(text: str) -> bytes:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("cp1252")


def _text_stream(lines: list[str]) -> bytes:
    shown = b"".join(b"(%s) Tj T*\n" % _pdf_string(line) for line in lines)
    return b"BT /F1 11 Tf 14 TL 72 720 Td\n" + shown + b"ET"


def _pdf_file(objects: list[bytes], info: int | None) -> bytes:
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    info_ref = b" /Info %d 0 R" % info if info else b""
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\n" % (len(objects) + 1, info_ref)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def make_docx(build: Callable[[docx.document.Document], None], title: str = "") -> bytes:
    document = docx.Document()
    document.core_properties.title = title
    build(document)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def kinds(doc: ParsedDocument) -> list[str]:
    return [block.kind for block in doc.blocks]


def texts(doc: ParsedDocument, kind: str) -> list[str]:
    return [block.text for block in doc.blocks if block.kind == kind]


# -- plain text ---------------------------------------------------------------------------------------------


def test_text_title_from_a_short_first_line_and_paragraphs_from_blank_lines() -> None:
    data = b"Resetting your password\n\nOpen the settings page.\nChoose Security.\n\n\n\nThen save."
    doc = parse_bytes(data, "reset.txt")
    assert doc.title == "Resetting your password"
    assert doc.blocks[0] == Block("heading", "Resetting your password", level=1)
    assert texts(doc, "paragraph") == ["Open the settings page. Choose Security.", "Then save."]
    assert doc.metadata == {"format": "txt"}


def test_text_title_falls_back_to_the_humanised_file_name() -> None:
    doc = parse_bytes(b"This file starts with a sentence.\n\nAnd goes on.", "reset-your_password.txt")
    assert doc.title == "Reset your password"
    assert kinds(doc) == ["paragraph", "paragraph"]


def test_text_bullets_become_a_list_block_and_numbers_are_kept() -> None:
    doc = parse_bytes(b"Steps\n\n* open   the page\n* click save\n\n1) first\n2) second", "steps.txt")
    assert texts(doc, "list") == ["- open the page\n- click save", "1. first\n2. second"]


def test_text_with_bom_crlf_and_control_characters_is_cleaned() -> None:
    data = "\ufeffTitle line\r\n\r\nBell\x07 and   tabs\there.\x0b\r\n".encode()
    doc = parse_bytes(data, "notes.txt")
    assert doc.title == "Title line"
    assert texts(doc, "paragraph") == ["Bell and tabs here."]


def test_text_in_windows_1252_is_decoded() -> None:
    doc = parse_bytes("Café menu\n\nCrème brûlée costs 5 €.".encode("cp1252"), "menu.txt")
    assert doc.title == "Café menu"
    assert texts(doc, "paragraph") == ["Crème brûlée costs 5 €."]


def test_text_undecodable_as_cp1252_falls_back_to_latin_1() -> None:
    doc = parse_bytes(b"caf\xe9 \x81 menu.", "menu.txt")  # 0x81 is undefined in cp1252
    assert doc.blocks[0].text.startswith("café")


def test_text_in_utf_16_with_bom_is_decoded() -> None:
    doc = parse_bytes("Über uns\n\nWir sind ein Team.".encode("utf-16"), "about.txt")
    assert doc.title == "Über uns"


def test_binary_data_in_a_text_file_is_a_corrupt_document() -> None:
    with pytest.raises(CorruptDocument, match=r"photo\.txt.*binary"):
        parse_bytes(bytes(range(256)) * 4, "photo.txt")


# -- markdown -----------------------------------------------------------------------------------------------

MARKDOWN = b"""---
title: "Backups, explained"
tags: [ops]
---
# Backups

Lore keeps *everything* in [one folder](https://example.com) and `LORE_DATA_DIR`
names it.

## Steps

1. Stop the server.
2. Copy the folder:
   - the database
   - the index

| File | Backup? |
|------|---------|
| lore.db | **yes** |
| index/ | no |

```sh
lore backup /tmp/b
  --verbose
```

> Quoted advice.

<div class="note">Raw <b>HTML</b> note</div>
"""


def test_markdown_structure_is_kept() -> None:
    doc = parse_bytes(MARKDOWN, "backups.md")
    assert doc.title == "Backups, explained"
    assert doc.metadata == {"format": "markdown"}
    assert [(b.kind, b.level) for b in doc.blocks if b.kind == "heading"] == [("heading", 1), ("heading", 2)]
    assert texts(doc, "paragraph")[0] == "Lore keeps everything in one folder and LORE_DATA_DIR names it."
    assert texts(doc, "list") == ["1. Stop the server.\n2. Copy the folder:\n  - the database\n  - the index"]
    assert texts(doc, "table") == ["File | Backup?\nlore.db | yes\nindex/ | no"]
    assert texts(doc, "code") == ["lore backup /tmp/b\n  --verbose"]
    assert texts(doc, "paragraph")[1:] == ["Quoted advice.", "Raw HTML note"]


def test_markdown_title_from_first_heading_then_file_name() -> None:
    assert parse_bytes(b"Intro.\n\n## Usage\n\nText.", "x.md").title == "Usage"
    assert parse_bytes(b"Just a paragraph.", "getting_started.markdown").title == "Getting started"


def test_markdown_front_matter_title_padded_with_spaces() -> None:
    data = b"---\ntitle: Backups" + b" " * 100_000 + b"explained  \n---\n\nText."
    assert parse_bytes(data, "x.md").title == "Backups explained"


def test_markdown_sparse_tables_keep_their_rows() -> None:
    rows = "".join(f"| row {index} |\n" for index in range(50))
    doc = parse_bytes(f"| a | b | c | d | e |\n|---|---|---|---|---|\n{rows}".encode(), "t.md")
    [table] = texts(doc, "table")
    assert table.split("\n")[1] == "row 0 | | | |"
    assert len(table.split("\n")) == 51


def test_markdown_tables_that_expand_into_empty_cells_are_too_complex() -> None:
    columns = 200
    header = "|" + "a|" * columns + "\n|" + "-|" * columns + "\n"
    with pytest.raises(DocumentTooComplex) as caught:
        parse_bytes((header + "|x|\n" * columns).encode(), "bomb.md")  # 1.6 kB would make 40,000 cells
    assert caught.value.code == "document_too_complex"


def test_markdown_with_only_front_matter_is_empty() -> None:
    with pytest.raises(CorruptDocument, match="empty"):
        parse_bytes(b"---\ntitle: Nothing\n---\n\n", "nothing.md")


# -- html ---------------------------------------------------------------------------------------------------

PAGE = b"""<!doctype html><html lang="en"><head><title>Backups | Lore Help Centre</title>
<style>p { color: red }</style><script>var tracking = "SCRIPT TEXT";</script></head>
<body>
<header><a href="/">Site header</a><nav><ul><li>Nav home</li><li>Nav docs</li></ul></nav></header>
<aside><h3>Sidebar heading</h3><p>Sidebar text</p></aside>
<main>
  <h1>Backups</h1>
  <p>Lore keeps data in <code>LORE_DATA_DIR</code>.<br>Copy it while stopped.</p>
  Loose <em>text</em> in main.
  <div hidden>Hidden text</div>
  <ol start="3"><li>Stop <p>the server</p><ul><li>nested item</li></ul></li><li>Copy</li></ol>
  <table><thead><tr><th>Path</th><th>Backup</th></tr></thead>
    <tbody><tr><td>lore.db</td><td>yes</td></tr><tr><td>index/</td><td>no</td></tr></tbody></table>
  <pre><code>lore backup /tmp/b
    --verbose</code></pre>
  <form><label>Was this helpful?</label><button>Yes</button></form>
  <noscript>Enable JavaScript</noscript>
  <h2><svg><text>ICON</text></svg>Restoring</h2>
  <p>Reverse the steps.</p>
</main>
<footer><p>Footer copyright</p></footer>
</body></html>"""


def test_html_main_content_keeps_its_structure() -> None:
    doc = parse_bytes(PAGE, "backups.html")
    assert doc.title == "Backups"  # the <title> minus the site name, since the page's h1 says just that
    assert doc.metadata == {"format": "html", "lang": "en"}
    assert doc.blocks == [
        Block("heading", "Backups", level=1),
        Block("paragraph", "Lore keeps data in LORE_DATA_DIR. Copy it while stopped."),
        Block("paragraph", "Loose text in main."),
        Block("list", "3. Stop the server\n  - nested item\n4. Copy"),
        Block("table", "Path | Backup\nlore.db | yes\nindex/ | no"),
        Block("code", "lore backup /tmp/b\n    --verbose"),
        Block("heading", "Restoring", level=2),
        Block("paragraph", "Reverse the steps."),
    ]


def test_html_boilerplate_is_dropped_even_without_main() -> None:
    page = PAGE.replace(b"<main>", b"<div>").replace(b"</main>", b"</div>")
    text = parse_bytes(page, "backups.html").text
    assert "Lore keeps data" in text
    chrome = ("SCRIPT", "color", "Site header", "Nav home", "Sidebar", "Hidden", "helpful", "JavaScript")
    for boilerplate in (*chrome, "ICON", "Footer"):
        assert boilerplate not in text


@pytest.mark.parametrize(
    "wrapper", [b"<article>%s</article>", b'<div role="main">%s</div>', b"<main>%s</main>"]
)
def test_html_prefers_the_main_content_element(wrapper: bytes) -> None:
    body = wrapper % b"<h1>Real</h1><p>Article text.</p>"
    page = b"<html><body><div><p>Promo outside.</p></div>%s<p>After.</p></body></html>" % body
    doc = parse_bytes(page, "page.htm")
    assert doc.text == "Real\n\nArticle text."
    assert doc.title == "Real"


def test_html_article_header_is_kept_but_page_header_is_not() -> None:
    page = b"<header>Site</header><article><header><h1>Own title</h1></header><p>Body.</p></article>"
    assert parse_bytes(page, "a.html").text == "Own title\n\nBody."


def test_html_title_without_a_title_element_comes_from_the_h1() -> None:
    doc = parse_bytes(b"<body><h2>Second</h2><h1>First</h1><p>x</p></body>", "page.html")
    assert doc.title == "First"


def test_html_declared_charset_is_honoured() -> None:
    page = '<meta charset="windows-1252"><title>Café</title><p>Crème brûlée</p>'.encode("cp1252")
    doc = parse_bytes(page, "menu.html")
    assert doc.title == "Café"
    assert texts(doc, "paragraph") == ["Crème brûlée"]


def test_html_nested_far_deeper_than_the_recursion_limit() -> None:
    depth = 1_000
    page = (
        "<main>"
        + "<div><span>" * depth
        + "Deep <b>text</b>."
        + "</span></div>" * depth
        + "<p>After.</p></main>"
    )
    doc = parse_bytes(page.encode(), "deep.html")
    assert texts(doc, "paragraph") == ["Deep text.", "After."]


def test_html_deeply_nested_lists_keep_every_item_with_a_bounded_indent() -> None:
    depth = 1_000
    page = (
        "<ul>" + "".join(f"<li>item {index}<ul>" for index in range(depth)) + "</ul></li>" * depth + "</ul>"
    )
    [listing] = texts(parse_bytes(page.encode(), "lists.html"), "list")
    lines = listing.split("\n")
    assert [line.strip() for line in lines] == [f"- item {index}" for index in range(depth)]
    assert lines[3] == "      - item 3"
    assert max(len(line) - len(line.lstrip()) for line in lines) == 16
    assert len(listing) < 30 * depth  # the indent stops growing, so the text stays linear in the items


def test_html_list_written_directly_inside_a_list_is_kept() -> None:
    doc = parse_bytes(b"<ul><li>a</li><ul><li>b</li></ul><li>c</li></ul>", "l.html")
    assert texts(doc, "list") == ["- a\n  - b\n- c"]


def test_html_nested_tables_are_not_repeated() -> None:
    inner = "<table><tr><td>inner</td><td>cell</td></tr></table>"
    page = f"<table><tr><th>Outer</th></tr><tr><td>outer {inner}</td><td>two</td></tr></table>"
    assert texts(parse_bytes(page.encode(), "t.html"), "table") == ["Outer\nouter inner cell | two"]


@pytest.mark.parametrize(
    "page",
    [
        "<div>" * 100_000 + "text" + "</div>" * 100_000,
        "<ul><li>" * 50_000 + "text",
        "<span>" * 5_000 + "</x>" * 100_000,
    ],
    ids=["divs", "unclosed lists", "stray end tags"],
)
def test_html_nested_too_deeply_for_its_length_is_too_complex(page: str) -> None:
    with pytest.raises(DocumentTooComplex) as caught:
        parse_bytes(page.encode(), "deep.html")
    assert caught.value.code == "document_too_complex"
    assert "nest too deeply" in caught.value.message


def test_html_with_only_navigation_is_empty() -> None:
    with pytest.raises(CorruptDocument, match="empty"):
        parse_bytes(b"<body><nav><a href='/'>Home</a></nav><script>x()</script></body>", "nav.html")


# -- pdf ----------------------------------------------------------------------------------------------------


def test_pdf_text_is_reflowed_into_paragraphs_with_page_numbers() -> None:
    pages = [
        [
            "Lore administration guide",
            "Lore keeps everything it stores in one data directory, and a",
            "backup is a copy of that directory taken while nothing writes.",
            "Restore it the same way.",
            "A second paragraph explains the configura-",
            "tion of the data directory in detail, line by line.",
        ],
        ["Page two holds the appendix."],
    ]
    doc = parse_bytes(make_pdf(pages), "guide.pdf")
    assert doc.title == "Lore administration guide"
    assert doc.metadata == {"format": "pdf", "pages": 2}
    assert doc.blocks == [
        Block("heading", "Lore administration guide", level=1, page=1),
        Block(
            "paragraph",
            "Lore keeps everything it stores in one data directory, and a backup is a copy of that "
            "directory taken while nothing writes. Restore it the same way.",
            page=1,
        ),
        Block(
            "paragraph",
            "A second paragraph explains the configuration of the data directory in detail, line by line.",
            page=1,
        ),
        Block("paragraph", "Page two holds the appendix.", page=2),
    ]


def test_pdf_title_from_metadata_then_file_stem() -> None:
    assert parse_bytes(make_pdf([["Some text."]], title="Admin (guide)"), "x.pdf").title == "Admin (guide)"
    sentence = "This PDF starts with a sentence that is far too long to be a title of anything at all."
    assert parse_bytes(make_pdf([[sentence]]), "release_notes.pdf").title == "Release notes"


def test_pdf_without_a_text_layer_is_reported_as_scanned() -> None:
    with pytest.raises(CorruptDocument, match=r"scan\.pdf: no extractable text \(scanned\?\)"):
        parse_bytes(make_pdf([[], []]), "scan.pdf")


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.9])
def test_truncated_pdf_is_a_corrupt_document(cut: float) -> None:
    data = make_pdf([["Some text on a page."]])
    with pytest.raises(CorruptDocument, match=r"broken\.pdf"):
        parse_bytes(data[: int(len(data) * cut)], "broken.pdf")


# -- docx ---------------------------------------------------------------------------------------------------


def _handbook(document: docx.document.Document) -> None:
    document.add_heading("Lore handbook", level=0)
    document.add_paragraph("Intro   paragraph.")
    document.add_heading("Installing", level=1)
    document.add_paragraph("Install Python", style="List Number")
    document.add_paragraph("Run make", style="List Number")
    document.add_paragraph("Nested note", style="List Bullet 2")
    table = document.add_table(rows=2, cols=3)
    for cell, text in zip(table.rows[0].cells, ("Setting", "Default", "Notes"), strict=True):
        cell.text = text
    table.cell(1, 0).text = "LORE_DATA_DIR"
    table.cell(1, 1).merge(table.cell(1, 2)).text = "./lore-data"
    document.add_heading("Details", level=2)
    document.add_paragraph("After the table.")


def test_docx_headings_lists_and_tables() -> None:
    doc = parse_bytes(make_docx(_handbook), "handbook.docx")
    assert doc.title == "Lore handbook"
    assert doc.metadata == {"format": "docx"}
    assert doc.blocks == [
        Block("heading", "Lore handbook", level=1),
        Block("paragraph", "Intro paragraph."),
        Block("heading", "Installing", level=1),
        Block("list", "- Install Python\n- Run make\n  - Nested note"),
        Block("table", "Setting | Default | Notes\nLORE_DATA_DIR | ./lore-data"),
        Block("heading", "Details", level=2),
        Block("paragraph", "After the table."),
    ]


def test_docx_title_from_core_properties_then_file_stem() -> None:
    def body(document: docx.document.Document) -> None:
        document.add_paragraph("Only a paragraph.")

    assert parse_bytes(make_docx(body, title="Handbook v2"), "x.docx").title == "Handbook v2"
    assert parse_bytes(make_docx(body), "team-handbook.docx").title == "Team handbook"


def test_docx_that_is_not_a_zip_is_a_corrupt_document() -> None:
    with pytest.raises(CorruptDocument, match=r"old\.docx: BadZipFile"):
        parse_bytes(b"\xd0\xcf\x11\xe0 an old binary Word file", "old.docx")


def test_zip_that_is_not_a_word_document_is_a_corrupt_document() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hello")
    with pytest.raises(CorruptDocument, match=r"fake\.docx"):
        parse_bytes(buffer.getvalue(), "fake.docx")


def test_empty_docx_is_empty() -> None:
    with pytest.raises(CorruptDocument, match="empty"):
        parse_bytes(make_docx(lambda document: None), "blank.docx")


# -- dispatch -----------------------------------------------------------------------------------------------


def test_supported_extensions() -> None:
    assert {".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx"} == SUPPORTED_EXTENSIONS


def test_unknown_extension_is_unsupported_and_names_the_file() -> None:
    with pytest.raises(UnsupportedFormat, match=r"slides\.pptx.*'\.pptx'") as caught:
        parse_bytes(b"whatever", "slides.pptx")
    assert caught.value.details["extension"] == ".pptx"


def test_extension_is_case_insensitive() -> None:
    assert parse_bytes(b"# Title\n\nText.", "README.MD").title == "Title"


def test_content_type_decides_when_there_is_no_extension() -> None:
    assert parse_bytes(b"# Heading\n\nBody.", "upload", "text/markdown; charset=utf-8").title == "Heading"
    assert parse_bytes(b"<h1>Page</h1><p>x</p>", "", "text/html").title == "Page"
    assert detect_format("", "application/pdf") == ".pdf"


def test_bytes_are_sniffed_when_nothing_else_says() -> None:
    assert parse_bytes(make_pdf([["Sniffed text."]]), "blob").text == "Sniffed text."
    assert detect_format("", None, b"  <!DOCTYPE html><html>") == ".html"
    with pytest.raises(UnsupportedFormat, match="cannot tell"):
        parse_bytes(b"plain words", "README")


@pytest.mark.parametrize("name", ["empty.txt", "empty.md", "empty.html", "empty.pdf", "empty.docx"])
def test_empty_files_are_corrupt_documents(name: str) -> None:
    with pytest.raises(CorruptDocument, match=name.replace(".", r"\.")):
        parse_bytes(b"", name)


def test_whitespace_only_text_is_empty() -> None:
    with pytest.raises(CorruptDocument, match="empty") as caught:
        parse_bytes(b" \n\n\t \n", "blank.txt")
    assert caught.value.details == {"filename": "blank.txt", "reason": caught.value.details["reason"]}


def _samples() -> dict[str, bytes]:
    return {
        ".txt": b"Title\n\nSome text.",
        ".md": MARKDOWN,
        ".markdown": MARKDOWN,
        ".html": PAGE,
        ".htm": PAGE,
        ".pdf": make_pdf([["Some text on a page."], ["More."]], title="T"),
        ".docx": make_docx(_handbook),
    }


@pytest.mark.parametrize("extension", sorted(SUPPORTED_EXTENSIONS))
def test_damaged_files_never_escape_as_library_exceptions(extension: str) -> None:
    """Random bytes, and valid files with random stretches overwritten, parse or fail as LoreErrors."""
    generator = random.Random(extension)
    sample = _samples()[extension]
    for _ in range(40):
        data = bytearray(sample)
        start = generator.randrange(len(data))
        data[start : start + generator.randrange(1, 64)] = generator.randbytes(generator.randrange(1, 64))
        for candidate in (bytes(data), generator.randbytes(generator.randrange(1, 2048))):
            with contextlib.suppress(LoreError):
                assert isinstance(parse_bytes(candidate, f"damaged{extension}"), ParsedDocument)


def test_parse_file_reads_from_disk(tmp_path: Path) -> None:
    path = tmp_path / "handbook.docx"
    path.write_bytes(make_docx(_handbook))
    assert parse_file(path).title == "Lore handbook"


def test_parse_file_of_a_missing_file_is_a_corrupt_document(tmp_path: Path) -> None:
    with pytest.raises(CorruptDocument, match=r"gone\.md: cannot be read"):
        parse_file(tmp_path / "gone.md")


def test_parse_file_rejects_unsupported_files_without_reading_them(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFormat):
        parse_file(tmp_path / "missing.exe")


def test_results_and_entry_points_pickle_for_worker_processes() -> None:
    doc = parse_bytes(MARKDOWN, "backups.md")
    assert pickle.loads(pickle.dumps(doc)) == doc
    assert pickle.loads(pickle.dumps(parse_file)) is parse_file


# -- the demo knowledge base --------------------------------------------------------------------------------


def demo_articles() -> list[Path]:
    return sorted(demo_dir().iterdir())


def test_demo_knowledge_base_mixes_markdown_and_html() -> None:
    suffixes = [path.suffix for path in demo_articles()]
    assert len(suffixes) >= 10
    assert suffixes.count(".md") >= 6 and suffixes.count(".html") >= 3
    assert set(suffixes) <= SUPPORTED_EXTENSIONS


@pytest.mark.parametrize("path", demo_articles(), ids=lambda path: path.name)
def test_demo_article_parses_into_a_structured_document(path: Path) -> None:
    doc = parse_file(path)
    words = len(doc.text.split())
    assert doc.title and "Lore Help Centre" not in doc.title
    assert 300 <= words <= 900
    assert sum(block.kind == "heading" for block in doc.blocks) >= 3
    for boilerplate in ("© 2025", "Skip to content", "Was this article helpful", "Search the help centre"):
        assert boilerplate not in doc.text


def test_demo_articles_have_tables_and_code_between_them() -> None:
    docs = [parse_file(path) for path in demo_articles()]
    assert sum("table" in kinds(doc) for doc in docs) >= 4
    assert sum("code" in kinds(doc) for doc in docs) >= 4
    assert sum("list" in kinds(doc) for doc in docs) >= 6
