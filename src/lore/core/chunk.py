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
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from lore.core.splitting import TEXT_SPLITTERS, UNIT_SPLITTERS, Unit, split_text
from lore.models import Block, ChunkDraft, ParsedDocument

TokenCounter = Callable[[str], int]
Section = list[tuple[tuple[str, ...], Block]]
_BLOCK_SEP = "\n\n"
_MIN_MAX_TOKENS = 16
_LEAD_IN_FRACTION = 8  # text under 1/8 of the target (32 of 256 tokens) joins the sub-section after it


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
    count: TokenCounter
    max_tokens: int
    target: int
    overlap: int
    special: int = 0  # what the counter adds to any text ([CLS] and [SEP] for BERT models)
    _prefixes: dict[tuple[str, ...], tuple[str, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.special = self.count("")
        if self.count("word") <= self.special:  # a padded or truncating tokenizer makes every count equal
            raise ValueError("count_tokens must count without padding or truncation")

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
        """Title and path, shortened when absurdly long headings would leave no room for text."""
        limit = self.max_tokens // 2
        for candidate in (path, path[-1:], ()):
            prefix = _join_prefix(self.title, candidate)
            tokens = self.count(prefix)
            if tokens <= limit:
                return prefix, tokens
        words = self.title.split()
        while len(words) > 1 and self.count(" ".join(words)) > limit:
            words = words[: len(words) // 2]
        prefix = " ".join(words) if self.count(" ".join(words)) <= limit else ""
        return prefix, self.count(prefix)


def chunk_document(
    doc: ParsedDocument,
    count_tokens: TokenCounter,
    max_tokens: int = 256,
    overlap_tokens: int = 32,
    target_tokens: int | None = None,
) -> list[ChunkDraft]:
    """Chunks of `doc` in reading order.

    `count_tokens` counts what the model sees, special tokens included; `target_tokens` (at most
    `max_tokens`) is the size packing aims for, `max_tokens` the bound no embed_text exceeds.
    """
    if max_tokens < _MIN_MAX_TOKENS:
        raise ValueError(f"max_tokens must be at least {_MIN_MAX_TOKENS}, not {max_tokens}")
    target = min(target_tokens or max_tokens, max_tokens)
    sizer = _Sizer(doc.title, count_tokens, max_tokens, target, max(overlap_tokens, 0))
    drafts = [
        draft
        for section in _sections(doc)
        for group in _pack(_pieces(section, sizer), sizer)
        for draft in _verified(group, sizer)
    ]
    return [replace(draft, position=position) for position, draft in enumerate(drafts)]


def _sections(doc: ParsedDocument) -> Iterator[Section]:
    """Top-level sections, each block paired with its heading path (the title's own h1 left out)."""
    skip = _title_heading(doc)
    levels = [block.level for i, block in enumerate(doc.blocks) if block.kind == "heading" and i != skip]
    top = min(levels, default=0)
    stack: list[tuple[int, str]] = []
    section: Section = []
    for index, block in enumerate(doc.blocks):
        if index == skip:
            continue
        if block.kind == "heading":
            if block.level <= top and section:
                yield section
                section = []
            stack = [entry for entry in stack if entry[0] < block.level] + [(block.level, block.text)]
        section.append((tuple(text for _, text in stack), block))
    if section:
        yield section


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
    tokens = sizer.tokens(block.text)
    limit = sizer.room(path)
    if tokens <= limit:
        return [_Piece(block.text, tokens, _BLOCK_SEP, path, unit)]
    parts = split_text(block.text, TEXT_SPLITTERS[unit], limit, sizer.tokens)
    pieces = [_Piece(text, count, sep, path) for text, sep, count in parts]
    return [replace(pieces[0], sep=_BLOCK_SEP), *pieces[1:]] if pieces else []


@dataclass(slots=True)
class _Packer:
    sizer: _Sizer
    groups: list[list[_Piece]] = field(default_factory=list)
    current: list[_Piece] = field(default_factory=list)
    used: int = 0
    limit: int = 0

    def add(self, piece: _Piece, need: int) -> None:
        if self._has_content() and (self.used + need > self.limit or self._ends_here(piece)):
            self._close(piece)
        if not self.current:
            self.limit = self.sizer.room(piece.path)
        self.current.append(piece)
        self.used += piece.tokens

    def finish(self) -> list[list[_Piece]]:
        if any(not piece.overlap for piece in self.current):
            self.groups.append(self.current)
        return self.groups

    def _ends_here(self, piece: _Piece) -> bool:
        """A sub-heading starts a new chunk unless the current one is only a short lead-in."""
        return piece.heading and self.used >= self.sizer.target // _LEAD_IN_FRACTION

    def _has_content(self) -> bool:
        """Closing before any content would leave a chunk of nothing but headings or overlap."""
        return any(not (piece.heading or piece.overlap) for piece in self.current)

    def _close(self, following: _Piece) -> None:
        """End the current chunk; a chunk continuing the same section opens with the previous one's tail."""
        self.groups.append(self.current)
        self.limit = self.sizer.room(following.path)
        room = min(self.sizer.overlap, self.limit - following.tokens)
        tail = [] if following.heading else _overlap(self.current, following, room, self.sizer)
        self.current = tail
        self.used = sum(piece.tokens for piece in tail)


def _pack(pieces: list[_Piece], sizer: _Sizer) -> list[list[_Piece]]:
    """Greedy packing; a heading is kept with the content that follows it."""
    packer = _Packer(sizer)
    for index, piece in enumerate(pieces):
        packer.add(piece, _need(pieces, index))
    return packer.finish()


def _need(pieces: list[_Piece], index: int) -> int:
    """Tokens that must fit together from `index`: a piece, or headings up to their first content."""
    need = 0
    for piece in pieces[index:]:
        need += piece.tokens
        if not piece.heading:
            break
    return need


def _overlap(previous: list[_Piece], following: _Piece, room: int, sizer: _Sizer) -> list[_Piece]:
    """Trailing sentences (or lines) of the previous chunk that fit in `room` tokens, in order."""
    taken: list[_Piece] = []
    for piece in reversed(previous):
        if piece.heading or piece.path != following.path:
            break
        for text, sep in reversed(UNIT_SPLITTERS[piece.unit](piece.text)):
            tokens = piece.tokens if text == piece.text else sizer.tokens(text)
            if tokens > room:
                return taken[::-1]
            taken.append(_Piece(text, tokens, sep, piece.path, overlap=True))
            room -= tokens
        taken[-1] = replace(taken[-1], sep=piece.sep)  # the piece's first unit joins like the piece did
    return taken[::-1]


def _verified(pieces: list[_Piece], sizer: _Sizer) -> list[ChunkDraft]:
    """Drafts whose embed_text is within `max_tokens` by an exact count, halving the rare one that is not."""
    text, path, embed_text = _render(pieces, sizer)
    if sizer.count(embed_text) <= sizer.max_tokens or (len(pieces) == 1 and len(pieces[0].text) < 2):
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
    content = _without_leading_headings(pieces)
    path = _common_path([piece.path for piece in content or pieces])
    context = [_Piece(text, 0, _BLOCK_SEP, path) for text in content[0].path[len(path) :]] if content else []
    body = context + (content or pieces)
    text = body[0].text + "".join(piece.sep + piece.text for piece in body[1:])
    prefix = sizer.prefix(path)[0]
    return text, path, f"{prefix}{_BLOCK_SEP}{text}" if prefix else text


def _without_leading_headings(pieces: list[_Piece]) -> list[_Piece]:
    """Headings at the start of a chunk are already in its heading path (or restored as context lines)."""
    start = next((i for i, piece in enumerate(pieces) if not piece.heading), len(pieces))
    return pieces[start:]


def _common_path(paths: list[tuple[str, ...]]) -> tuple[str, ...]:
    first = paths[0]
    length = len(first)
    for path in paths[1:]:
        length = min(length, len(path))
        length = next((i for i in range(length) if path[i] != first[i]), length)
    return first[:length]


def _join_prefix(title: str, path: tuple[str, ...]) -> str:
    return "\n".join(part for part in (title, " > ".join(path)) if part)
