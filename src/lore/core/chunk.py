"""Split a parsed document into token-bounded chunks that follow its structure.

Each chunk stays inside one section and carries its heading path: a heading starts a new chunk, except that a
short lead-in (a section's first sentence or two) joins the sub-section after it, never across a top-level
heading. Paragraphs, lists, tables and code blocks stay whole when they fit, consecutive ones are packed
together, and a block too big is split at sentence (or line) boundaries; the chunk that continues a split
section starts with the previous chunk's last sentence(s). The
text the embedder sees (`embed_text`: title, heading path, text) never exceeds `max_tokens` as counted by the
model's own tokenizer, so no chunk is silently truncated at embedding time:

    >>> doc = ParsedDocument("Backups", [Block("paragraph", "Copy the data directory.")])
    >>> [c.embed_text for c in chunk_document(doc, lambda text: len(text.split()) + 2)]
    ['Backups\\n\\nCopy the data directory.']

Tokens are counted once per block (and once per sentence of a block that needs splitting) and summed: a
WordPiece tokenizer splits at whitespace, so the sum of the parts is the count of the whole. Every chunk is
then verified with one count of its final `embed_text`, and split again in the rare case the sum was short.

Hostile documents cost time and space linear in their length: each piece is looked at a bounded number of
times, a chunk's text also stays within `max_tokens * CHARS_PER_TOKEN_BOUND` characters (a megabyte "word" is
one unknown token), headings without text of their own open the next chunk instead of making chunks of
their own, and a document that would make more than `max_chunks` chunks is refused as `DocumentTooLarge`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from lore.core.splitting import CHARS_PER_TOKEN_BOUND, TEXT_SPLITTERS, UNIT_SPLITTERS, Unit, split_text
from lore.errors import DocumentTooLarge
from lore.models import Block, ChunkDraft, ParsedDocument

TokenCounter = Callable[[str], int]
Section = list[tuple[tuple[str, ...], Block]]
_BLOCK_SEP = "\n\n"
_MIN_MAX_TOKENS = 16
_LEAD_IN_FRACTION = 8  # text under 1/8 of the target (32 of 256 tokens) joins the sub-section after it
_MAX_DEPTH = 6  # headings nest no deeper than h6; deeper levels (only hand-built documents have them) are h6
_HEADING_MAX_CHARS = 300  # a longer "heading" is text, not the name of a section repeated in every chunk
DEFAULT_MAX_CHUNKS = 5_000  # LORE_MAX_DOCUMENT_CHUNKS: about what 5 M characters of prose make
_CHUNKS_SETTING = "LORE_MAX_DOCUMENT_CHUNKS"
_COUNTS_KEPT = 512  # texts a document's sizer remembers the count of


class _Size(NamedTuple):
    tokens: int
    chars: int


@dataclass(frozen=True, slots=True)
class _Piece:
    """Text that is never split further while packing: a whole block, a sentence, a line or a heading."""

    text: str
    tokens: int  # without the counter's special tokens
    sep: str  # what joins this piece to the previous one inside a chunk
    path: tuple[str, ...]
    unit: Unit = "atom"  # how to cut it into smaller units when only its tail is wanted (overlap)
    heading: bool = False
    overlap: bool = False


@dataclass(slots=True)
class _Sizer:
    """Token arithmetic for one document: the counter, the limits and the cost of each heading path."""

    title: str
    counter: TokenCounter
    max_tokens: int
    target: int
    overlap: int
    special: int = 0  # what the counter adds to any text ([CLS] and [SEP] for BERT models)
    _prefixes: dict[tuple[str, ...], tuple[str, int]] = field(default_factory=dict)
    _counted: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.special = self.count("")
        if self.count("word") <= self.special:  # a padded or truncating tokenizer makes every count equal
            raise ValueError("count_tokens must count without padding or truncation")

    def count(self, text: str) -> int:
        """The counter's count, remembered for the last few hundred texts: a block that fits is counted as a
        piece and again as its chunk's text, and a one-chunk record is mostly that."""
        counted = self._counted.get(text)
        if counted is None:
            if len(self._counted) >= _COUNTS_KEPT:
                self._counted.clear()
            counted = self._counted[text] = self.counter(text)
        return counted

    @property
    def max_chars(self) -> int:
        """Characters a chunk's text may hold: the token bound at a ratio no real text reaches."""
        return self.max_tokens * CHARS_PER_TOKEN_BOUND

    def tokens(self, text: str) -> int:
        return max(self.count(text) - self.special, 0)

    def prefix(self, path: tuple[str, ...]) -> tuple[str, int]:
        """The context line(s) in front of a chunk's text and their token cost (specials included)."""
        if path not in self._prefixes:
            self._prefixes[path] = self._fitted_prefix(path)
        return self._prefixes[path]

    def room(self, path: tuple[str, ...]) -> int:
        """Tokens of text a chunk in this section may hold."""
        cost = self.prefix(path)[1]
        return max(self.target - cost, (self.max_tokens - cost) // 2)

    def _fitted_prefix(self, path: tuple[str, ...]) -> tuple[str, int]:
        """Title and path, shortened when absurdly long headings or titles would leave no room for text."""
        for candidate in (path, path[-1:], ()):
            prefix = _join_prefix(self.title, candidate)
            tokens = self._prefix_tokens(prefix)
            if tokens is not None:
                return prefix, tokens
        words = self.title.split()
        while len(words) > 1 and self._prefix_tokens(" ".join(words)) is None:
            words = words[: len(words) // 2]
        prefix = " ".join(words)
        tokens = self._prefix_tokens(prefix)
        return (prefix, tokens) if tokens is not None else ("", self.count(""))

    def _prefix_tokens(self, prefix: str) -> int | None:
        """The prefix's tokens when it takes at most half of a chunk, in tokens and in characters."""
        if len(prefix) > self.max_chars // 2:
            return None
        tokens = self.count(prefix)
        return tokens if tokens <= self.max_tokens // 2 else None


def chunk_document(
    doc: ParsedDocument,
    count_tokens: TokenCounter,
    max_tokens: int = 256,
    overlap_tokens: int = 32,
    target_tokens: int | None = None,
    max_chunks: int = DEFAULT_MAX_CHUNKS,
) -> list[ChunkDraft]:
    """Chunks of `doc` in reading order.

    `count_tokens` counts what the model sees, special tokens included; `target_tokens` (at most
    `max_tokens`) is the size packing aims for, `max_tokens` the bound no embed_text exceeds; more than
    `max_chunks` chunks raise `DocumentTooLarge`.
    """
    if max_tokens < _MIN_MAX_TOKENS:
        raise ValueError(f"max_tokens must be at least {_MIN_MAX_TOKENS}, not {max_tokens}")
    target = min(target_tokens or max_tokens, max_tokens)
    sizer = _Sizer(doc.title, count_tokens, max_tokens, target, max(overlap_tokens, 0))
    drafts = (
        draft
        for section in _sections(doc)
        for group in _pack(_pieces(section, sizer), sizer)
        for draft in _verified(group, sizer)
    )
    return [replace(draft, position=position) for position, draft in enumerate(_capped(drafts, max_chunks))]


def _capped(drafts: Iterable[ChunkDraft], max_chunks: int) -> list[ChunkDraft]:
    """The drafts, or `DocumentTooLarge` as soon as there are too many (the rest is never made)."""
    kept = list(itertools.islice(drafts, max_chunks + 1))
    if len(kept) > max_chunks:
        raise DocumentTooLarge(
            f"the document makes more than {max_chunks} chunks, the limit set by {_CHUNKS_SETTING}",
            details={"limit_chunks": max_chunks, "setting": _CHUNKS_SETTING},
        )
    return kept


def _sections(doc: ParsedDocument) -> Iterator[Section]:
    """Top-level sections, each block paired with its heading path; a top-level heading starts a section
    only once the one before has some text (headings alone open the next section)."""
    blocks = _chunked_blocks(doc)
    top = min((block.level for block in blocks if block.kind == "heading"), default=0)
    stack: list[tuple[int, str]] = []
    path: tuple[str, ...] = ()
    section: Section = []
    has_text = False
    for block in blocks:
        if block.kind == "heading":
            if block.level <= top and has_text:
                yield section
                section, has_text = [], False
            stack = [entry for entry in stack if entry[0] < block.level] + [(block.level, block.text)]
            path = tuple(text for _, text in stack)
        else:
            has_text = True
        section.append((path, block))
    if section:
        yield section


def _chunked_blocks(doc: ParsedDocument) -> list[Block]:
    """The blocks, without the title's own h1, with heading levels clamped to 1..6 (so a path is at most six
    headings) and a heading too long to name a section read as a paragraph."""
    skip = _title_heading(doc)
    return [_as_chunked(block) for index, block in enumerate(doc.blocks) if index != skip]


def _as_chunked(block: Block) -> Block:
    if block.kind != "heading":
        return block
    if len(block.text) > _HEADING_MAX_CHARS:
        return replace(block, kind="paragraph", level=0)
    level = min(max(block.level, 1), _MAX_DEPTH)
    return block if level == block.level else replace(block, level=level)


def _title_heading(doc: ParsedDocument) -> int | None:
    """Index of the first h1 when it merely repeats the title (the title is in every embed_text anyway)."""
    for index, block in enumerate(doc.blocks):
        if block.kind == "heading" and block.level == 1:
            return index if block.text.casefold() == doc.title.casefold() else None
    return None


def _pieces(section: Section, sizer: _Sizer) -> list[_Piece]:
    pieces: list[_Piece] = []
    for path, block in section:
        if block.kind == "heading":
            pieces.append(_Piece(block.text, sizer.tokens(block.text), _BLOCK_SEP, path, heading=True))
        else:
            pieces.extend(_block_pieces(block, path, sizer))
    return pieces


def _block_pieces(block: Block, path: tuple[str, ...], sizer: _Sizer) -> list[_Piece]:
    """The whole block when it fits, else its sentences (prose) or lines (lists, tables, code)."""
    unit: Unit = "sentences" if block.kind == "paragraph" else "lines"
    limit = sizer.room(path)
    tokens = sizer.tokens(block.text) if len(block.text) <= sizer.max_chars else limit + 1
    if tokens <= limit:
        return [_Piece(block.text, tokens, _BLOCK_SEP, path, unit)]
    parts = split_text(block.text, TEXT_SPLITTERS[unit], limit, sizer.tokens, sizer.max_chars)
    pieces = [_Piece(text, count, sep, path) for text, sep, count in parts]
    return [replace(pieces[0], sep=_BLOCK_SEP), *pieces[1:]] if pieces else []


@dataclass(slots=True)
class _Packer:
    """Greedy packing in one pass; what a chunk holds so far is kept as running totals."""

    sizer: _Sizer
    groups: list[list[_Piece]] = field(default_factory=list)
    current: list[_Piece] = field(default_factory=list)
    tokens: int = 0
    chars: int = 0
    limit: int = 0
    has_text: bool = False  # the current chunk holds more than headings and overlap

    def add(self, piece: _Piece, need: _Size) -> None:
        if self._closes_before(piece, need):
            self._close(piece)
        if not self.current:
            self.limit = self.sizer.room(piece.path)
        self._append(piece)

    def finish(self) -> list[list[_Piece]]:
        if any(not piece.overlap for piece in self.current):
            self.groups.append(self.current)
        return self.groups

    def _closes_before(self, piece: _Piece, need: _Size) -> bool:
        """Close when `need` does not fit or a sub-section starts; a chunk of nothing but headings or overlap
        stays open for the text that follows, unless the headings alone fill it (a run of empty headings)."""
        if self.has_text:
            return self._overflows(need) or self._ends_here(piece)
        return piece.heading and bool(self.current) and self._overflows(_size(piece))

    def _overflows(self, need: _Size) -> bool:
        return self.tokens + need.tokens > self.limit or self.chars + need.chars > self.sizer.max_chars

    def _ends_here(self, piece: _Piece) -> bool:
        """A sub-heading starts a new chunk unless the current one is only a short lead-in."""
        return piece.heading and self.tokens >= self.sizer.target // _LEAD_IN_FRACTION

    def _append(self, piece: _Piece) -> None:
        self.current.append(piece)
        self.tokens += piece.tokens
        self.chars += len(piece.sep) + len(piece.text)
        self.has_text = self.has_text or not (piece.heading or piece.overlap)

    def _close(self, following: _Piece) -> None:
        """End the current chunk; a chunk continuing the same section opens with the previous one's tail."""
        previous = self.current
        self.groups.append(previous)
        self.limit = self.sizer.room(following.path)
        self.current, self.tokens, self.chars, self.has_text = [], 0, 0, False
        if not following.heading:
            for piece in _overlap(previous, following, self._overlap_room(following), self.sizer):
                self._append(piece)

    def _overlap_room(self, following: _Piece) -> _Size:
        """What the previous chunk's tail may take: the overlap, leaving room for the piece that follows."""
        size = _size(following)
        return _Size(
            min(self.sizer.overlap, self.limit - size.tokens),
            min(self.sizer.overlap * CHARS_PER_TOKEN_BOUND, self.sizer.max_chars - size.chars),
        )


def _size(piece: _Piece) -> _Size:
    return _Size(piece.tokens, len(piece.sep) + len(piece.text))


def _pack(pieces: list[_Piece], sizer: _Sizer) -> list[list[_Piece]]:
    """Greedy packing; a heading is kept with the content that follows it."""
    packer = _Packer(sizer)
    for piece, need in zip(pieces, _needs(pieces), strict=True):
        packer.add(piece, need)
    return packer.finish()


def _needs(pieces: list[_Piece]) -> list[_Size]:
    """What must fit together from each piece on: the piece, or a run of headings up to their first content
    (summed backwards in one pass)."""
    needs: list[_Size] = []
    following = _Size(0, 0)
    for piece in reversed(pieces):
        tokens, chars = piece.tokens, len(piece.sep) + len(piece.text)
        if piece.heading:
            tokens, chars = tokens + following.tokens, chars + following.chars
        following = _Size(tokens, chars)
        needs.append(following)
    return needs[::-1]


def _overlap(previous: list[_Piece], following: _Piece, room: _Size, sizer: _Sizer) -> list[_Piece]:
    """Trailing sentences (or lines) of the previous chunk that fit in `room`, in order."""
    taken: list[_Piece] = []
    tokens_left, chars_left = room
    for piece in reversed(previous):
        if piece.heading or piece.path != following.path:
            break
        for text, sep in reversed(UNIT_SPLITTERS[piece.unit](piece.text)):
            tokens = piece.tokens if text == piece.text else sizer.tokens(text)
            if tokens > tokens_left or len(text) + len(sep) > chars_left:
                return taken[::-1]
            taken.append(_Piece(text, tokens, sep, piece.path, overlap=True))
            tokens_left, chars_left = tokens_left - tokens, chars_left - len(text) - len(sep)
        taken[-1] = replace(taken[-1], sep=piece.sep)  # the piece's first unit joins like the piece did
    return taken[::-1]


def _verified(pieces: list[_Piece], sizer: _Sizer) -> list[ChunkDraft]:
    """Drafts whose embed_text is within `max_tokens` by an exact count, halving the rare one that is not."""
    text, path, embed_text = _render(pieces, sizer)
    fits = len(text) <= sizer.max_chars and sizer.count(embed_text) <= sizer.max_tokens
    if fits or (len(pieces) == 1 and len(pieces[0].text) < 2):
        return [ChunkDraft(0, text, path, sizer.count(text), embed_text)]
    if any(piece.overlap for piece in pieces):
        return _verified([piece for piece in pieces if not piece.overlap], sizer)
    if len(pieces) == 1:
        pieces = _halves(pieces[0], sizer)
    middle = len(pieces) // 2
    return _verified(pieces[:middle], sizer) + _verified(pieces[middle:], sizer)


def _halves(piece: _Piece, sizer: _Sizer) -> list[_Piece]:
    words = piece.text.split(" ")
    if len(words) > 1:
        cut, sep = len(words) // 2, " "
        texts = [" ".join(words[:cut]), " ".join(words[cut:])]
    else:
        cut, sep = len(piece.text) // 2, ""
        texts = [piece.text[:cut], piece.text[cut:]]
    first = replace(piece, text=texts[0], tokens=sizer.tokens(texts[0]), heading=False)
    return [first, replace(first, text=texts[1], tokens=sizer.tokens(texts[1]), sep=sep)]


def _render(pieces: list[_Piece], sizer: _Sizer) -> tuple[str, tuple[str, ...], str]:
    """(text, heading path, embed_text) of a chunk made of these pieces."""
    body, path = _body(pieces)
    text = body[0].text + "".join(piece.sep + piece.text for piece in body[1:])
    prefix = sizer.prefix(path)[0]
    return text, path, f"{prefix}{_BLOCK_SEP}{text}" if prefix else text


def _body(pieces: list[_Piece]) -> tuple[list[_Piece], tuple[str, ...]]:
    """The pieces a chunk's text shows, and its heading path. Headings at the start of a chunk that lead to
    its content are already in the path (or restored as context lines); headings without text of their own
    stay as lines of the text, and a chunk of nothing but headings shows them all."""
    start = next((i for i, piece in enumerate(pieces) if not piece.heading), len(pieces))
    if start == len(pieces):
        return pieces, _common_path([piece.path for piece in pieces])
    content = pieces[start:]
    path = _common_path([piece.path for piece in content])
    lead = content[0].path
    empty_headings = [piece for piece in pieces[:start] if lead[: len(piece.path)] != piece.path]
    context = [_Piece(text, 0, _BLOCK_SEP, path) for text in lead[len(path) :]]
    return empty_headings + context + content, path


def _common_path(paths: list[tuple[str, ...]]) -> tuple[str, ...]:
    first = paths[0]
    length = len(first)
    for path in paths[1:]:
        length = min(length, len(path))
        length = next((i for i in range(length) if path[i] != first[i]), length)
    return first[:length]


def _join_prefix(title: str, path: tuple[str, ...]) -> str:
    return "\n".join(part for part in (title, " > ".join(path)) if part)
