"""The passages a brief quotes for its claims, as plain data: whole sentences a reader can find in the source.

A claim's ``locator`` names lines of its source's text (under ``--sources``); :func:`passage` quotes them widened to
the sentences they begin and end in (reached for a bounded distance before and after the lines), whitespace folded,
and cut at whole sentences to ``max_chars`` (the cut marked " […]"; a single sentence longer than that is cut at a
word, " …"). :func:`passages` quotes every claim of a model once: a claim whose passage is, or overlaps, one
already quoted from the same file refers to it (``same_as``); when the two together still fit the length, the
earlier quote grows to cover both, else the later claim is quoted with only the sentences not shown yet
(``follows`` names the quote it continues), so no sentence is shown twice.

Sentences come from pySBD (``pysbd``, the rule-based Golden Rules segmenter: pure Python, no data fetched at run
time), which knows the usual abbreviations (U.S., Mr., Dr., e.g., i.e., No., Jan., a.m.). Around it, for text
extracted from PDFs and web pages: a line that starts a bullet item or is a heading (short, no sentence ending in
it, after a finished sentence and before a capital) begins a new block that no sentence runs across; headings
themselves are not quoted; a word hyphenated across a line break is joined ("Chinese-" + "dominated"); a note's
number after a full stop ("growth.1") is left out; and two slips of pySBD are mended (a closing quote or bracket
left at the start of the next sentence; a sentence ending inside brackets, "(see above.) Then", not split).

Nothing here reads outside the sources folder (:func:`forecast.spec.checks.source_path`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from forecast.spec.checks import parse_locator, source_path

if TYPE_CHECKING:
    from forecast.spec.schema import ScenarioModel

QUOTE_CHARS = 700
REACH = 1000  # characters looked at before a span (for its first sentence's start) and after it (for its last's end)
CUT = " […]"  # whole sentences left out after the passage (or between its parts)
WORD_CUT = " …"  # a sentence cut at a word: the only sentence, longer than the cap; or one reaching past REACH
GAP = " […] "

_END = re.compile(r"[.!?…][\"'”’)\]»]*$")
_BULLETS = "*•▪◦‣●■□➢►"
_BULLET = re.compile(rf"^[{_BULLETS}]\s+")
_DASH_BULLET = re.compile(r"^[-–—]\s+")
_CLOSERS = "\"'”’)]»"
_BRACKET_SPLIT = re.compile(r"(?<=[.!?][)\]])\s+(?=[\"“‘(\[]?[A-Z0-9])")
_FOOTNOTE = re.compile(r"(?:(?<=[a-z)][.!?])|(?<=[a-z][.!?][\"”’)]))\d{1,3}$")  # "growth.1": a note's number


@dataclass(frozen=True)
class Quoted:
    """A claim's quote: ``text``, or None when ``same_as`` (the first claim whose quote shows this claim's lines)
    is given or there is nothing to quote. ``follows``: the claim whose quote this text continues (the two
    passages overlap; the sentences already shown there are not repeated here)."""

    text: str | None
    same_as: str | None = None
    follows: str | None = None


@dataclass(frozen=True)
class _Sentence:
    start: int  # offsets in the file's folded text
    end: int
    open_start: bool = False  # its start was not found within REACH: the quote begins at the span, "… "
    open_end: bool = False  # its end was not found within REACH: the quote ends at the span, " …"


@dataclass(frozen=True)
class _Doc:
    """A source text with whitespace folded: ``starts``/``ends`` each line's text (1-based lines at index - 1),
    ``breaks`` the offsets where a block begins, ``headings`` the headings' ranges (never quoted)."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    breaks: frozenset[int]
    headings: tuple[tuple[int, int], ...]


def _fold(raw: str) -> _Doc:
    lines = [" ".join(line.split()) for line in raw.splitlines()]
    filled = [i for i, s in enumerate(lines) if s]
    nxt = {a: b for a, b in zip(filled, filled[1:], strict=False)}
    prev = {b: a for a, b in zip(filled, filled[1:], strict=False)}
    parts: list[str] = []
    size, starts, ends, breaks, headings = 0, [], [], set(), []
    kinds: dict[int, str] = {}
    for i, s in enumerate(lines):
        lone = len(s) == 1 and s in _BULLETS  # a bullet on a line of its own: the next line starts the item
        if not s or lone:
            starts.append(size)
            ends.append(size)
            if lone and i in nxt:
                lines[nxt[i]] = "* " + lines[nxt[i]]
            continue
        before = lines[prev[i]] if i in prev else ""
        after = lines[nxt[i]] if i in nxt else ""
        finished = not before or kinds.get(prev[i]) == "heading" or bool(_END.search(before))
        if _BULLET.match(s) or (finished and _DASH_BULLET.match(s)):
            s = _BULLET.sub("", _DASH_BULLET.sub("", s, count=1), count=1)
            kinds[i] = "bullet"
        elif (finished and len(s) <= 80 and not re.search(r"[.!?,;:…\-–—\"”’]$|[.!?] ", s)
              and re.match(r"[\"“‘(\[]?[A-Z0-9*•]", after or "X")):
            kinds[i] = "heading"
        joined = bool(parts) and bool(re.search(r"[A-Za-z]-$", parts[-1])) and s[0].isalpha() and i not in kinds
        if parts and not joined:
            parts.append(" ")
            size += 1
        if i in kinds or (i in prev and kinds.get(prev[i]) == "heading"):
            breaks.add(size)
        starts.append(size)
        parts.append(s)
        size += len(s)
        ends.append(size)
        if kinds.get(i) == "heading":
            headings.append((starts[-1], size))
    return _Doc("".join(parts), tuple(starts), tuple(ends), frozenset(breaks), tuple(headings))


@lru_cache(maxsize=32)
def _read(path: Path, stamp: tuple[int, int]) -> _Doc:  # stamp: the file's mtime and size (a changed file is read)
    return _fold(path.read_text(encoding="utf-8", errors="replace"))


def _doc(sources_dir: str | Path | None, file: str | None) -> _Doc | None:
    if sources_dir is None or file is None:
        return None
    path = source_path(sources_dir, file)
    if path is None or not path.is_file():
        return None
    st = path.stat()
    return _read(path, (st.st_mtime_ns, st.st_size))


@lru_cache(maxsize=1)
def _segmenter():
    import pysbd  # here, not at import: the spec layer and `forecast check` never pay for it

    return pysbd.Segmenter(language="en", clean=False)


def _split(text: str) -> list[tuple[int, int]]:
    """Sentence ranges (stripped) of one block of text, pySBD's with its two slips mended."""
    pieces, pos = [], 0
    for seg in _segmenter().segment(text):
        at = text.find(seg.strip(), pos) if seg.strip() else -1
        if at < 0:  # pySBD changed the text (it should not with clean=False): keep the block as one sentence
            return [(len(text) - len(text.lstrip()), len(text.rstrip()))] if text.strip() else []
        pieces.append([at, at + len(seg.strip())])
        pos = pieces[-1][1]
    mended: list[list[int]] = []
    for a, b in pieces:
        lead = re.match(rf"[{re.escape(_CLOSERS)}]+(?=\s|$)", text[a:b])
        if lead and mended:  # a closing quote or bracket that belongs to the sentence before
            mended[-1][1] = a + lead.end()
            a = a + lead.end()
            a += len(text[a:b]) - len(text[a:b].lstrip())
        if a < b:
            mended.append([a, b])
    out = []
    for a, b in mended:
        cuts = [a, *(m.end() for m in _BRACKET_SPLIT.finditer(text, a, b)), b]
        for x, y in zip(cuts, cuts[1:], strict=False):
            piece = text[x:y]
            if piece.strip():
                note = _FOOTNOTE.search(piece.rstrip())
                out.append((x + len(piece) - len(piece.lstrip()), x + (note.start() if note else len(piece.rstrip()))))
    return out


def _sentences(doc: _Doc, lo: int, hi: int, max_chars: int) -> tuple[list[_Sentence], bool]:
    """The sentences lines ``lo``..``hi`` (1-based) begin in, end in and hold, headings left out; and whether the
    span goes on past them (a span longer than ``max_chars`` is segmented only that far: the rest is never shown)."""
    hi = min(hi, len(doc.starts))  # a span past the file's end (`forecast check` reports it): the lines it has
    filled = [i for i in range(lo - 1, hi) if doc.ends[i] > doc.starts[i]]
    if not filled:
        return [], False
    s0, s1 = doc.starts[filled[0]], doc.ends[filled[-1]]
    more = s1 > s0 + max_chars + 1
    s1 = min(s1, s0 + max_chars + 1)
    w0 = max(0, s0 - REACH)
    w1 = min(len(doc.text), s1 + REACH)
    while w0 > 0 and doc.text[w0 - 1] != " ":  # whole words
        w0 -= 1
    while w1 < len(doc.text) and doc.text[w1] != " ":
        w1 += 1
    cuts = sorted({w0, w1, *(b for b in doc.breaks if w0 < b < w1)})
    found: list[_Sentence] = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        found += [_Sentence(a + x, a + y) for x, y in _split(doc.text[a:b])]
    found = [s for s in found if not any(h0 <= s.start and s.end <= h1 for h0, h1 in doc.headings)]
    chosen = [s for s in found if s.end > s0 and s.start < s1]
    if not chosen:
        return [], False
    first, last = chosen[0], chosen[-1]
    if first is found[0] and w0 > 0 and w0 not in doc.breaks and not _END.search(doc.text[max(0, w0 - 8):w0].rstrip()):
        # the sentence the span begins in starts before the window: quote from the span's first line
        chosen[0] = first = _Sentence(max(first.start, s0), first.end, open_start=True, open_end=first.open_end)
    if (last is found[-1] and w1 < len(doc.text) and w1 not in doc.breaks
            and not _END.search(doc.text[last.start:last.end])):
        chosen[-1] = _Sentence(last.start, min(last.end, s1), open_start=last.open_start, open_end=True)
    return chosen, more and chosen[-1].end < doc.ends[filled[-1]]


def _text(doc: _Doc, s: _Sentence) -> str:
    return ("… " if s.open_start else "") + doc.text[s.start:s.end] + (WORD_CUT if s.open_end else "")


def _render(doc: _Doc, sentences: list[_Sentence], max_chars: int, more: bool = False) -> tuple[str, int]:
    """The passage's text, cut at whole sentences to ``max_chars`` (marked when cut, or when ``more``: the span goes
    on past ``sentences``), and the offset where the shown text ends."""
    out, end = "", sentences[0].start
    for k, s in enumerate(sentences):
        sep = "" if k == 0 else (" " if not doc.text[end:s.start].strip() else GAP)
        piece = sep + _text(doc, s)
        if len(out) + len(piece) + (len(CUT) if more or k + 1 < len(sentences) else 0) > max_chars:
            if k == 0:  # a single sentence longer than the cap: cut at a word
                body = _text(doc, s)[: max_chars - len(WORD_CUT)].rsplit(" ", 1)[0].rstrip(" ,;:–—-")
                return body + WORD_CUT, s.start + len(body) - (2 if s.open_start else 0)
            return out + CUT, end
        out, end = out + piece, s.end
    return (out + CUT if more else out), end


def passage(sources_dir: str | Path | None, file: str | None, locator: str,
            max_chars: int = QUOTE_CHARS) -> str | None:
    """The sentences the lines at ``locator`` of ``file`` (under ``sources_dir``) begin in, end in and hold,
    whitespace folded, cut at whole sentences to ``max_chars``; None without a folder, a file or a line range, or
    when the lines are blank or past the file's end."""
    span = parse_locator(locator or "")
    doc = _doc(sources_dir, file)
    if span is None or doc is None:
        return None
    found, more = _sentences(doc, *span, max_chars)
    return _render(doc, found, max_chars, more)[0] if found else None


@dataclass
class _Shown:
    claim: str
    sentences: list[_Sentence]
    more: bool
    text: str
    start: int
    end: int


def passages(model: ScenarioModel, sources_dir: str | Path | None,
             max_chars: int = QUOTE_CHARS) -> dict[str, Quoted]:
    """Every claim's quote, in model order, each passage quoted once (see the module's notes): a claim whose
    passage is shown, or overlaps one shown, for an earlier claim of the same file has ``same_as`` that claim."""
    shown: dict[str, list[_Shown]] = {}
    owner: dict[str, _Shown | None] = {}  # claim -> the quote that shows its text (None: nothing to quote)
    refer: dict[str, tuple[str | None, str | None]] = {}  # claim -> (same_as, follows)
    for c in model.claims:
        src = next((s for s in model.sources if s.id == c.source), None)
        span = parse_locator(c.locator or "")
        doc = None if src is None or span is None else _doc(sources_dir, src.file)
        found, more = _sentences(doc, *span, max_chars) if doc is not None and span is not None else ([], False)
        owner[c.id], refer[c.id] = None, (None, None)
        if not found:
            continue
        quotes = shown.setdefault(str(source_path(sources_dir, src.file)), [])
        lo, hi = found[0].start, found[-1].end
        hits = [q for q in quotes if q.start < hi and lo < q.end]
        if not hits:
            text, end = _render(doc, found, max_chars, more)
            quotes.append(_Shown(c.id, found, more, text, lo, end))
            owner[c.id] = quotes[-1]
            continue
        first = hits[0]
        if not [s for s in found if not any(q.start <= s.start and s.end <= q.end for q in quotes)]:
            refer[c.id] = (next(q for q in hits if q.start <= lo < q.end).claim
                           if any(q.start <= lo < q.end for q in hits) else first.claim, None)
            continue
        union = sorted([*first.sentences, *(s for s in found if s.end <= first.start or s.start >= first.end)],
                       key=lambda s: s.start)
        union_more = first.more if union[-1] is first.sentences[-1] else more
        text, end = _render(doc, union, max_chars, union_more)
        others = [q for q in quotes if q is not first]
        if (len(hits) == 1 and not text.endswith((CUT, WORD_CUT.strip()))
                and not any(q.start < end and union[0].start < q.end for q in others)):
            first.sentences, first.more, first.text = union, union_more, text
            first.start, first.end = union[0].start, end
            refer[c.id] = (first.claim, None)
            continue
        rest = [s for s in found if not any(q.start < s.end and s.start < q.end for q in quotes)]
        if not rest:
            refer[c.id] = (first.claim, None)
            continue
        text, end = _render(doc, rest, max_chars, more)
        quotes.append(_Shown(c.id, rest, more, text, rest[0].start, end))
        owner[c.id], refer[c.id] = quotes[-1], (None, first.claim)
    out = {}
    for c in model.claims:
        same_as, follows = refer[c.id]
        q = owner[c.id]
        out[c.id] = Quoted(q.text if q is not None else None, same_as, follows)
    return out
