"""From articles to sentences: a rule-based sentence splitter that keeps character offsets.

>>> [s.text for s in split_sentences("Gen. Ali arrived in the U.S. on Jan. 3. He met officials.")]
['Gen. Ali arrived in the U.S. on Jan. 3.', 'He met officials.']

Every :class:`Sentence` satisfies ``text[s.start:s.end] == s.text``. Line breaks end a sentence when the line
cannot continue (a headline or caption without final punctuation, a paragraph end); lines that are hard-wrapped
mid-sentence are joined.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Sentence", "iter_sentences", "normalize_text", "split_sentences"]

# Words that end with a period without ending a sentence (compared case-insensitively, without the period).
_ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof gen lt col maj capt cpt sgt cpl pvt adm cmdr brig gov sen rep rev st mt ft pres amb
    sec dept govt jr sr messrs mme mlle no nos vol art fig approx est ca vs etc al inc ltd co corp bros
    jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thur thurs fri sat sun
    ave blvd rd km mi
    """.split()
)
# Words that, after an ambiguous acronym such as "U.S.", show that a new sentence begins.
_SENTENCE_STARTERS = frozenset(
    "the a an he she it they we i this that these those but and in on at after before his her their its "
    "there however meanwhile officials police troops residents".split()
)
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s+)")
_NEXT_START = re.compile(r"\s+([\"'“‘«(\[]?)(\S+)")
_WORD_BEFORE = re.compile(r"(?<!\S)(\S+)$")  # a whole word: the lookbehind stops scans from inside words
_WORD_WINDOW = 64  # characters looked at before a full stop to find the word it ends; doubled for longer words


@dataclass(frozen=True)
class Sentence:
    """A sentence and its character span ``[start, end)`` in the original text."""

    text: str
    start: int
    end: int


def normalize_text(text: str, *, lowercase: bool = False) -> str:
    """``text`` with each run of whitespace as one space and none at either end; with ``lowercase`` also
    lower-cased. The one normalisation behind stored corpus rows (as written), duplicate and overlap checks of
    training data (``lowercase=True``) and one-line error messages.

    >>> normalize_text("  Jets   struck the town. "), normalize_text("Jets  STRUCK", lowercase=True)
    ('Jets struck the town.', 'jets struck')
    """
    collapsed = " ".join(text.split())
    return collapsed.lower() if lowercase else collapsed


def split_sentences(text: str) -> list[Sentence]:
    """Split ``text`` into sentences with offsets into ``text``. Empty input gives an empty list."""
    return list(iter_sentences(text))


def iter_sentences(text: str) -> Iterator[Sentence]:
    """Like :func:`split_sentences`, one sentence at a time: work and memory are linear in the length of ``text``
    (a 20 MB article streams out sentence by sentence)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    for block_start, block_end in _blocks(text):
        start = block_start
        for match in _BOUNDARY.finditer(text, block_start, block_end):
            end = match.end()
            if _is_boundary(text, start, end, block_end):
                sentence = _span(text, start, end)
                if sentence:
                    yield sentence
                start = end
        sentence = _span(text, start, block_end)
        if sentence:
            yield sentence


def _blocks(text: str) -> Iterator[tuple[int, int]]:
    """Spans of text separated by line breaks that end a unit (paragraph breaks, headline lines)."""
    current: tuple[int, int] | None = None
    previous = ""  # the last line of ``current``, right-stripped: what decides whether the next line joins it
    trailing = 0  # whitespace after it, at the end of ``current``
    for m in re.finditer(r"[^\n]+", text):
        start, end = m.span()
        raw = m.group()
        line = raw.strip()
        if not line:
            if current:
                yield current
                current = None
            continue
        if current is not None:
            newlines = start - current[1]  # only line breaks lie between two matches
            block_length = current[1] - trailing - current[0]  # the block so far, right-stripped
            hard_wrap = (
                newlines == 1
                and previous[-1:].isalpha()
                and previous[-1:].islower()
                and (line[:1].islower() or block_length > 60)
            ) or (newlines == 1 and previous[-1:] in {",", ";", "-", "–"})
            if hard_wrap:
                current = (current[0], end)
            else:
                yield current
                current = (start, end)
        else:
            current = (start, end)
        previous = raw.rstrip()
        trailing = len(raw) - len(previous)
    if current:
        yield current


def _is_boundary(text: str, start: int, end: int, block_end: int) -> bool:
    punct_pos = end
    while punct_pos > start and text[punct_pos - 1] in "\"'”’»)]":
        punct_pos -= 1
    mark = text[punct_pos - 1]
    nxt = _NEXT_START.match(text, end, block_end)
    if not nxt:
        return False
    opener, word = nxt.group(1), nxt.group(2)
    first = word[:1]
    if not (first.isupper() or first.isdigit() or opener):
        return False
    if mark != ".":
        return True
    token = _word_before(text, start, punct_pos)
    bare = token.rstrip(".").lstrip("\"'“‘(«[")
    if bare.lower() in _ABBREVIATIONS:
        # "Jan. 3" or "Gen. Ali" never end a sentence; "... in Jan. The next day" rarely happens.
        return False
    if len(bare) == 1 and bare.isupper():  # an initial: "John F. Kennedy"
        return False
    if re.fullmatch(r"(?:[A-Za-z]\.)+[A-Za-z]", bare):  # "U.S", "U.N", "e.g"
        return word.lower().strip("\"'“‘") in _SENTENCE_STARTERS
    return True


def _word_before(text: str, start: int, end: int) -> str:
    """The run of non-space characters that ends at ``end`` (not before ``start``), found by looking back from
    ``end`` over a window that doubles until the word fits: the cost is the word's length, never the distance to
    ``start`` (searching from ``start`` made long runs of abbreviations quadratic)."""
    window = _WORD_WINDOW
    while True:
        lo = max(start, end - window)
        found = _WORD_BEFORE.search(text, lo, end)  # the lookbehind sees text before ``lo``: words are never cut
        if found is not None:
            return found.group(1)
        if lo == start:  # the word began before ``start``: its part from ``start`` on
            return text[start:end] if end > start and not text[end - 1].isspace() else ""
        window *= 2


def _span(text: str, start: int, end: int) -> Sentence | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Sentence(text[start:end], start, end) if end > start else None
