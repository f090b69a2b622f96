"""Chunking with the model's real tokenizer: the token bound, structure, overlap and determinism."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

import pytest
from tokenizers import Tokenizer

from lore.config import Settings
from lore.core.chunk import DEFAULT_MAX_CHUNKS, chunk_document
from lore.core.parse import parse_file
from lore.core.splitting import CHARS_PER_TOKEN_BOUND
from lore.demo import demo_dir
from lore.errors import DocumentTooLarge
from lore.models import Block, ChunkDraft, ParsedDocument

Counter = Callable[[str], int]
WORDS = (
    *("the", "search", "index", "stores", "passages", "vectors", "keyword", "ranking", "fusion", "tenant"),
    *("collection", "document", "chunk", "embedding", "model", "query", "latency", "backup", "restore"),
    *("worker", "queue", "replica", "postgres"),
)


@pytest.fixture(scope="module")
def count() -> Counter:
    """Tokens as all-MiniLM-L6-v2 sees them: [CLS] and [SEP] included, never truncated."""
    tokenizer = Tokenizer.from_file(str(files("lore.backends.embedder") / "minilm" / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return lambda text: len(tokenizer.encode(text).ids)


def sentence(generator: random.Random, words: int) -> str:
    return " ".join(generator.choice(WORDS) for _ in range(words)).capitalize() + "."


def paragraph(generator: random.Random, sentences: int) -> str:
    return " ".join(sentence(generator, generator.randint(4, 24)) for _ in range(sentences))


def assert_bounded(chunks: list[ChunkDraft], count: Counter, max_tokens: int) -> None:
    assert [chunk.position for chunk in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert count(chunk.embed_text) <= max_tokens, chunk.embed_text
        assert chunk.token_count == count(chunk.text)
        assert chunk.text.strip() and chunk.text == chunk.text.rstrip() and chunk.text[0] != "\n"


def long_document(seed: int = 7) -> ParsedDocument:
    """Twelve sections of prose and lists, then the pathological cases: a giant sentence, a huge table,
    long code, and runs without spaces."""
    generator = random.Random(seed)
    blocks = [Block("heading", "Operations manual", level=1)]
    for number in range(12):
        blocks.append(Block("heading", f"Section {number}", level=2))
        for sub in range(2):
            blocks.append(Block("heading", f"Topic {number}.{sub}", level=3))
            blocks += [Block("paragraph", paragraph(generator, generator.randint(1, 12))) for _ in range(3)]
            blocks.append(Block("list", "\n".join(f"- {sentence(generator, 8)}" for _ in range(5))))
    blocks.append(Block("heading", "Giants", level=2))
    blocks.append(Block("paragraph", " ".join(generator.choice(WORDS) for _ in range(1500))))
    rows = [" | ".join(generator.choice(WORDS) for _ in range(6)) for _ in range(200)]
    blocks.append(Block("table", "\n".join(rows)))
    blocks.append(Block("code", "\n".join(f"    value_{i} = compute({i}, {2 * i})" for i in range(150))))
    blocks.append(Block("paragraph", "東京大学" * 200))
    blocks.append(Block("paragraph", "x." * 600))
    return ParsedDocument("Operations manual", blocks)


# -- the token bound ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("max_tokens", [256, 128, 64])
def test_every_demo_article_is_chunked_within_the_bound(count: Counter, max_tokens: int) -> None:
    for path in sorted(demo_dir().iterdir()):
        chunks = chunk_document(
            parse_file(path), count, max_tokens=max_tokens, overlap_tokens=max_tokens // 8
        )
        assert_bounded(chunks, count, max_tokens)


def test_every_demo_article_yields_several_chunks_with_context(count: Counter) -> None:
    for path in sorted(demo_dir().iterdir()):
        doc = parse_file(path)
        chunks = chunk_document(doc, count)
        assert len(chunks) >= 4, path.name
        assert all(chunk.embed_text.startswith(doc.title) for chunk in chunks)
        assert sum(bool(chunk.heading_path) for chunk in chunks) >= 3


def test_long_document_with_giant_blocks_stays_within_the_bound(count: Counter) -> None:
    chunks = chunk_document(long_document(), count)
    assert_bounded(chunks, count, 256)
    giants = [chunk for chunk in chunks if chunk.heading_path == ("Giants",)]
    assert len(giants) > 12
    table_rows = {line for chunk in giants for line in chunk.text.split("\n") if " | " in line}
    assert all(len(row.split(" | ")) == 6 for row in table_rows)  # a table is split between rows only
    code_lines = [line for chunk in giants for line in chunk.text.split("\n") if "compute(" in line]
    assert all(line.startswith("    value_") and line.endswith(")") for line in code_lines)


def test_without_overlap_the_chunks_hold_every_word_once_in_order(count: Counter) -> None:
    doc = long_document(seed=3)
    chunks = chunk_document(doc, count, overlap_tokens=0)
    chunked = "".join(chunk.text for chunk in chunks)
    original = "".join(block.text for block in doc.blocks if block.kind != "heading")
    assert "".join(chunked.split()) == "".join(original.split())


def test_token_counting_grows_linearly_with_the_document(count: Counter) -> None:
    def calls_for(doc: ParsedDocument) -> int:
        calls = 0

        def counting(text: str) -> int:
            nonlocal calls
            calls += 1
            return count(text)

        chunk_document(doc, counting)
        return calls

    prose = long_document().blocks[:-6]  # without the giant blocks, which are counted sentence by sentence
    single = calls_for(ParsedDocument("Manual", prose))
    assert calls_for(ParsedDocument("Manual", prose * 2)) <= 2.1 * single
    assert single < 4 * len(prose)


def test_a_custom_counter_without_special_tokens_is_respected() -> None:
    def words(text: str) -> int:
        return len(text.split())

    chunks = chunk_document(long_document(), words, max_tokens=50, overlap_tokens=8)
    assert all(words(chunk.embed_text) <= 50 for chunk in chunks)


def test_absurdly_long_title_and_headings_still_fit(count: Counter) -> None:
    title = " ".join(["interminable"] * 400)
    doc = ParsedDocument(
        title,
        [Block("heading", "heading " * 300, level=2), Block("paragraph", paragraph(random.Random(1), 30))],
    )
    assert_bounded(chunk_document(doc, count, max_tokens=128), count, 128)


def test_tiny_max_tokens_is_refused(count: Counter) -> None:
    with pytest.raises(ValueError, match="max_tokens"):
        chunk_document(ParsedDocument("T", [Block("paragraph", "x")]), count, max_tokens=4)


def test_a_padding_counter_is_refused() -> None:
    tokenizer = Tokenizer.from_file(str(files("lore.backends.embedder") / "minilm" / "tokenizer.json"))
    padded = tokenizer.encode("word")  # the shipped tokenizer.json pads and truncates to 128
    assert len(padded.ids) == 128
    with pytest.raises(ValueError, match="padding"):
        chunk_document(manual(), lambda text: len(tokenizer.encode(text).ids))


def test_target_tokens_makes_smaller_chunks(count: Counter) -> None:
    doc = long_document()
    large = chunk_document(doc, count)
    small = chunk_document(doc, count, target_tokens=128)
    assert len(small) > 1.5 * len(large)
    assert_bounded(small, count, 256)
    assert max(count(chunk.embed_text) for chunk in small) <= 128 + 8


# -- structure ----------------------------------------------------------------------------------------------


def manual() -> ParsedDocument:
    return ParsedDocument(
        "Backups",
        [
            Block("heading", "Backups", level=1),
            Block("paragraph", "Lore keeps all data in one folder."),
            Block("heading", "Backing up", level=2),
            Block("paragraph", "Run the backup command."),
            Block("heading", "Online backups", level=3),
            Block("paragraph", "The command copies the database while Lore keeps serving requests. " * 3),
            Block("heading", "Offline backups", level=3),
            Block("paragraph", "Stop Lore first. Then copy the whole data directory somewhere safe. " * 3),
            Block("heading", "Restoring", level=2),
            Block("paragraph", "Stop every process."),
            Block("list", "- Copy the folder back\n- Start Lore"),
            Block("code", "lore restore /backups/latest"),
        ],
    )


def test_heading_paths_leave_out_the_title_heading(count: Counter) -> None:
    chunks = chunk_document(manual(), count)
    assert [chunk.heading_path for chunk in chunks] == [
        (),
        ("Backing up",),  # a lead-in and the sub-section after it
        ("Backing up", "Offline backups"),
        ("Restoring",),
    ]
    assert chunks[0].embed_text == "Backups\n\nLore keeps all data in one folder."
    assert chunks[3].embed_text.startswith("Backups\nRestoring\n\nStop every process.")


def test_a_short_lead_in_joins_the_sub_section_after_it(count: Counter) -> None:
    chunks = chunk_document(manual(), count)
    assert chunks[1].text.startswith("Run the backup command.\n\nOnline backups\n\nThe command copies")
    assert chunks[1].heading_path == ("Backing up",)


def test_small_blocks_of_one_section_are_packed_together(count: Counter) -> None:
    chunks = chunk_document(manual(), count)
    assert (
        chunks[3].text
        == "Stop every process.\n\n- Copy the folder back\n- Start Lore\n\nlore restore /backups/latest"
    )


def test_top_level_sections_are_never_mixed(count: Counter) -> None:
    blocks = [Block("heading", "Title", level=1)]
    for number in range(6):
        blocks += [Block("heading", f"Part {number}", level=2), Block("paragraph", f"Short part {number}.")]
    chunks = chunk_document(ParsedDocument("Title", blocks), count)
    assert [chunk.text for chunk in chunks] == [f"Short part {number}." for number in range(6)]
    assert [chunk.heading_path for chunk in chunks] == [(f"Part {number}",) for number in range(6)]


def test_a_first_heading_that_differs_from_the_title_is_part_of_the_path(count: Counter) -> None:
    doc = ParsedDocument("Handbook", [Block("heading", "Welcome", level=1), Block("paragraph", "Hello.")])
    [chunk] = chunk_document(doc, count)
    assert chunk.heading_path == ("Welcome",)
    assert chunk.embed_text == "Handbook\nWelcome\n\nHello."


def test_a_document_without_blocks_has_no_chunks(count: Counter) -> None:
    assert chunk_document(ParsedDocument("Empty", []), count) == []


def test_code_and_tables_stay_whole_when_they_fit(count: Counter) -> None:
    code = "\n".join(f"def step_{i}():\n    return compute({i})\n" for i in range(6)).strip()
    table = "\n".join(f"setting_{i} | default {i} | meaning of setting {i}" for i in range(8))
    generator = random.Random(5)
    blocks = [Block("heading", "Setup", level=2), Block("paragraph", paragraph(generator, 8))]
    blocks += [Block("code", code), Block("paragraph", paragraph(generator, 8)), Block("table", table)]
    chunks = chunk_document(ParsedDocument("Guide", blocks), count)
    assert any(code in chunk.text for chunk in chunks)
    assert any(table in chunk.text for chunk in chunks)
    assert count(code) < 200 and len(chunks) > 1


def test_headings_without_text_open_the_next_chunk(count: Counter) -> None:
    blocks = [Block("heading", "Guide", level=1), Block("heading", "Install", level=2)]
    blocks += [Block("heading", "Linux", level=2), Block("paragraph", "Run the installer.")]
    [chunk] = chunk_document(ParsedDocument("Guide", blocks), count)
    assert chunk.heading_path == ("Linux",)
    assert chunk.text == "Install\n\nRun the installer."
    assert chunk.embed_text == "Guide\nLinux\n\nInstall\n\nRun the installer."


def test_a_run_of_empty_headings_fills_chunks_instead_of_making_one_each(count: Counter) -> None:
    for level in (1, 3):  # top-level headings, and sub-headings of one section
        blocks = [Block("heading", "Intro", level=1), Block("paragraph", "Some text.")]
        blocks += [Block("heading", f"h{index}", level=level) for index in range(5_000)]
        chunks = chunk_document(ParsedDocument("Headings", blocks), count)
        assert_bounded(chunks, count, 256)
        assert len(chunks) < 5_000 / 50
        shown = [line for chunk in chunks for line in chunk.text.split("\n\n") if line.startswith("h")]
        assert shown == [f"h{index}" for index in range(5_000)]


def test_empty_headings_at_the_end_make_one_chunk(count: Counter) -> None:
    blocks = [Block("heading", "Usage", level=2), Block("paragraph", "Run it.")]
    blocks += [Block("heading", "Deprecated", level=2), Block("heading", "Removed", level=2)]
    chunks = chunk_document(ParsedDocument("Tool", blocks), count)
    assert [chunk.text for chunk in chunks] == ["Run it.", "Deprecated\n\nRemoved"]


# -- bounds on hostile documents ------------------------------------------------------------------------


def test_a_huge_word_is_cut_at_the_character_bound(count: Counter) -> None:
    word = "".join(random.Random(2).choice("abcdefghij") for _ in range(100_000))
    assert count(word) == 3  # one unknown token: tokens alone would allow one 100 kB chunk
    chunks = chunk_document(ParsedDocument("Blob", [Block("paragraph", word)]), count)
    assert_bounded(chunks, count, 256)
    assert max(len(chunk.text) for chunk in chunks) <= 256 * CHARS_PER_TOKEN_BOUND
    assert "".join(chunk.text for chunk in chunks) == word


def test_text_the_tokenizer_ignores_is_bounded_by_characters(count: Counter) -> None:
    marks = " ".join(["\u0301"] * 20_000)  # combining accents: no tokens at all once accents are stripped
    chunks = chunk_document(ParsedDocument("Marks", [Block("paragraph", marks)]), count)
    assert len(chunks) > 10
    assert max(len(chunk.text) for chunk in chunks) <= 256 * CHARS_PER_TOKEN_BOUND


def test_huge_titles_and_headings_stay_out_of_every_chunk(count: Counter) -> None:
    title = "t" * 1_000_000
    heading = "a heading that goes on " * 1_000
    doc = ParsedDocument(
        title, [Block("heading", heading, level=2), Block("paragraph", paragraph(random.Random(4), 40))]
    )
    chunks = chunk_document(doc, count)
    assert_bounded(chunks, count, 256)
    assert all(len(chunk.embed_text) <= 2 * 256 * CHARS_PER_TOKEN_BOUND for chunk in chunks)
    assert all(chunk.heading_path == () for chunk in chunks)  # a heading that long is read as text
    assert chunks[0].text.startswith("a heading that goes on")


def test_a_document_over_the_chunk_limit_is_refused(count: Counter) -> None:
    calls = 0

    def counting(text: str) -> int:
        nonlocal calls
        calls += 1
        return count(text)

    blocks = [
        block for n in range(10_000) for block in (Block("heading", f"Part {n}", 2), Block("paragraph", "x"))
    ]
    doc = ParsedDocument("Parts", blocks)
    assert len(chunk_document(ParsedDocument("Parts", blocks[:20]), count, max_chunks=10)) == 10
    with pytest.raises(DocumentTooLarge) as caught:
        chunk_document(doc, counting, max_chunks=10)
    assert caught.value.code == "document_too_large"
    assert "more than 10 chunks" in caught.value.message
    assert "LORE_MAX_DOCUMENT_CHUNKS" in caught.value.message
    assert caught.value.details == {"limit_chunks": 10, "setting": "LORE_MAX_DOCUMENT_CHUNKS"}
    assert calls < 100  # it stops at the eleventh chunk instead of chunking the rest


def test_the_default_chunk_limit_is_the_settings_default() -> None:
    assert Settings.setting_fields()["max_document_chunks"].default == DEFAULT_MAX_CHUNKS


# -- overlap ------------------------------------------------------------------------------------------------


def split_section(count: Counter, overlap_tokens: int) -> list[ChunkDraft]:
    text = paragraph(random.Random(11), 60)
    doc = ParsedDocument("Guide", [Block("heading", "Long section", level=2), Block("paragraph", text)])
    return chunk_document(doc, count, overlap_tokens=overlap_tokens)


def test_a_split_section_repeats_the_previous_chunks_last_sentences(count: Counter) -> None:
    chunks = split_section(count, overlap_tokens=32)
    assert len(chunks) >= 3
    for previous, chunk in itertools.pairwise(chunks):
        sentences = [part.rstrip(".") + "." for part in chunk.text.split(". ")]
        repeated = [" ".join(sentences[:n]) for n in range(1, len(sentences))]
        overlap = [text for text in repeated if previous.text.endswith(" " + text)]
        assert overlap, "the chunk does not start with the previous chunk's last sentence(s)"
        assert count(overlap[-1]) - 2 <= 32


def test_overlap_can_be_turned_off(count: Counter) -> None:
    chunks = split_section(count, overlap_tokens=0)
    joined = " ".join(chunk.text for chunk in chunks)
    original = paragraph(random.Random(11), 60)
    assert joined == original


def test_no_overlap_across_sub_sections(count: Counter) -> None:
    chunks = chunk_document(manual(), count)
    assert not chunks[2].text.startswith("The command copies")


# -- determinism --------------------------------------------------------------------------------------------


def test_chunking_is_deterministic(count: Counter) -> None:
    doc = long_document()
    assert chunk_document(doc, count) == chunk_document(doc, count)
    path = Path(str(demo_dir() / "faq.md"))
    assert chunk_document(parse_file(path), count) == chunk_document(parse_file(path), count)
