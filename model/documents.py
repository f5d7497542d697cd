"""From articles to sentences: a rule-based sentence splitter that keeps character offsets.

>>> [s.text for s in split_sentences("Gen. Ali arrived in the U.S. on Jan. 3. He met officials.")]
['Gen. Ali arrived in the U.S. on Jan. 3.', 'He met officials.']

Every :class:`Sentence` satisfies ``text[s.start:s.end] == s.text``. Line breaks end a sentence when the line
cannot continue (a headline or caption without final punctuation, a paragraph end); lines that are hard-wrapped
mid-sentence are joined.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Sentence", "split_sentences"]

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
_WORD_BEFORE = re.compile(r"(\S+)$")


@dataclass(frozen=True)
class Sentence:
    """A sentence and its character span ``[start, end)`` in the original text."""

    text: str
    start: int
    end: int


def split_sentences(text: str) -> list[Sentence]:
    """Split ``text`` into sentences with offsets into ``text``. Empty input gives an empty list."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    out: list[Sentence] = []
    for block_start, block_end in _blocks(text):
        start = block_start
        for match in _BOUNDARY.finditer(text, block_start, block_end):
            end = match.end()
            if _is_boundary(text, start, end, block_end):
                _emit(text, start, end, out)
                start = end
        _emit(text, start, block_end, out)
    return out


def _blocks(text: str) -> list[tuple[int, int]]:
    """Spans of text separated by line breaks that end a unit (paragraph breaks, headline lines)."""
    spans: list[tuple[int, int]] = []
    lines = [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text)]
    current: tuple[int, int] | None = None
    for start, end in lines:
        line = text[start:end].strip()
        if not line:
            if current:
                spans.append(current)
                current = None
            continue
        if current is None:
            current = (start, end)
            continue
        between = text[current[1] : start]
        previous = text[current[0] : current[1]].rstrip()
        hard_wrap = (
            between.count("\n") == 1
            and previous[-1:].isalpha()
            and previous[-1:].islower()
            and (line[:1].islower() or len(previous) > 60)
        ) or (between.count("\n") == 1 and previous[-1:] in {",", ";", "-", "–"})
        if hard_wrap:
            current = (current[0], end)
        else:
            spans.append(current)
            current = (start, end)
    if current:
        spans.append(current)
    return spans


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
    before = _WORD_BEFORE.search(text, start, punct_pos)
    token = before.group(1) if before else ""
    bare = token.rstrip(".").lstrip("\"'“‘(«[")
    if bare.lower() in _ABBREVIATIONS:
        # "Jan. 3" or "Gen. Ali" never end a sentence; "... in Jan. The next day" rarely happens.
        return False
    if len(bare) == 1 and bare.isupper():  # an initial: "John F. Kennedy"
        return False
    if re.fullmatch(r"(?:[A-Za-z]\.)+[A-Za-z]", bare):  # "U.S", "U.N", "e.g"
        return word.lower().strip("\"'“‘") in _SENTENCE_STARTERS
    return True


def _emit(text: str, start: int, end: int, out: list[Sentence]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        out.append(Sentence(text[start:end], start, end))
