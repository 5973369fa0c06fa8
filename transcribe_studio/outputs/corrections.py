"""Corrections a person makes to a whole transcript at once: find and replace, split and merge segments.

Each is a pure change of a :class:`Transcript` (History saves it, :mod:`.history`). What they keep:

* **Find and replace** matches whole words, in any case, with any spacing between the words of a phrase; the
  new segment texts go through the same path as a person's edit, so a replaced word takes the time and speaker
  of the word it replaces (a phrase of another length shares the replaced words' time) and is marked edited.
* **Split and merge** move only segment boundaries: every word stays once, with its own time and speaker; a
  split segment ends at its last word's end and the next starts at its first word's start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ..errors import ReplaceError, SegmentsError
from ..transcription.transcript import Segment, Transcript

_LOOSE_PUNCTUATION = re.compile(r"\s+([,.;:!?])")
CONTEXT_CHARS = 40  # of the segment's text either side of a match, in the list of occurrences
MAX_FIND_CHARS = 200  # a name or a phrase; more is a paste by mistake, and would be matched against every segment


@dataclass(frozen=True)
class Occurrence:
    segment: int      # the segment's place in the transcript
    start: float      # the time of the match's first word (the segment's start where words have no times)
    speaker: str | None
    before: str       # the text around the match ("…" where it goes on), for people
    match: str
    after: str


def finder(find: str) -> re.Pattern:
    """The pattern of ``find``: its words, whole, in any case, with any spacing between them."""
    if not isinstance(find, str):
        raise ReplaceError("What to find must be text.")
    if len(find) > MAX_FIND_CHARS:
        raise ReplaceError(f"What to find is too long ({len(find):,} characters; at most {MAX_FIND_CHARS}).",
                           next_steps="Look for a word or a short phrase.")
    words = find.split()
    if not words:
        raise ReplaceError("Nothing to find: write the word or phrase to look for.",
                           next_steps="Write it in Find, then press Find.")
    return re.compile(r"(?<!\w)" + r"\s+".join(re.escape(w) for w in words) + r"(?!\w)", re.IGNORECASE)


def occurrences(transcript: Transcript, find: str) -> list[Occurrence]:
    """Every place ``find`` is said, in order."""
    pattern, found = finder(find), []
    for number, (segment, words) in enumerate(zip(transcript.segments, transcript.words_by_segment())):
        for match in pattern.finditer(segment.text):
            before = len(segment.text[:match.start()].split())
            start = words[before].start if before < len(words) else segment.start
            found.append(Occurrence(number, start, transcript.speaker_name(segment.speaker),
                                    _context(segment.text[:match.start()], -1), match.group(),
                                    _context(segment.text[match.end():], 1)))
    return found


def _context(text: str, side: int) -> str:
    """At most CONTEXT_CHARS of ``text`` next to a match (``side`` -1: before it, 1: after it)."""
    if len(text) <= CONTEXT_CHARS:
        return text
    return "…" + text[-CONTEXT_CHARS:] if side < 0 else text[:CONTEXT_CHARS] + "…"


def replaced_texts(transcript: Transcript, find: str, replacement: str) -> tuple[list[str], int]:
    """Each segment's text with every ``find`` replaced by ``replacement`` (an edit, for History's save), and how
    many places were replaced."""
    pattern = finder(find)
    if not isinstance(replacement, str) or "\n" in replacement.strip():
        raise ReplaceError("The replacement must be one line of text.", next_steps="Write it on one line.")
    replaced = [pattern.subn(lambda _: replacement.strip(), s.text) for s in transcript.segments]
    count = sum(n for _, n in replaced)
    if not count:
        raise ReplaceError(f"\"{' '.join(find.split())}\" is not in this transcript, so nothing was replaced.",
                           next_steps="Check the spelling, or press Find to see what is there.")
    # Replaced by nothing (an "um" taken out): no space is left before the punctuation that followed it.
    texts = [text if replacement.strip() else _LOOSE_PUNCTUATION.sub(r"\1", text) for text, _ in replaced]
    return texts, count


def split_at(transcript: Transcript, word_index: int) -> Transcript:
    """Its segment split before the word ``word_index`` (of ``transcript.words``)."""
    number, words, k = _segment_of(transcript, word_index)
    segment = transcript.segments[number]
    texts = segment.text.split()
    if k == 0:
        raise SegmentsError("That word already starts a segment.",
                            next_steps="Pick a word inside a segment (click it under the player), then Split.")
    if len(texts) != len(words):
        raise SegmentsError("This segment's text and its timed words differ, so it cannot be split at a word.",
                            next_steps="Save the table's edits first and try again; if it still refuses, correct "
                                       "the segment's text by hand instead.")
    first = replace(segment, end=words[k - 1].end, text=" ".join(texts[:k]))
    second = replace(segment, start=words[k].start, text=" ".join(texts[k:]))
    return _with_segments(transcript, transcript.segments[:number] + [first, second]
                          + transcript.segments[number + 1:])


def merge_after(transcript: Transcript, word_index: int) -> Transcript:
    """The segment holding the word ``word_index`` joined with the next one."""
    number, _, _ = _segment_of(transcript, word_index)
    if number + 1 >= len(transcript.segments):
        raise SegmentsError("That is the last segment: there is none after it to merge with.",
                            next_steps="Pick a word in the earlier of the two segments, then Merge.")
    first, second = transcript.segments[number:number + 2]
    if first.speaker != second.speaker:
        raise SegmentsError(f"The next segment is another speaker's ({transcript.speaker_name(second.speaker)}), "
                            "and a segment has one speaker.", next_steps="Merge segments of one speaker.")
    merged = Segment(first.start, max(first.end, second.end), f"{first.text} {second.text}", first.speaker)
    return _with_segments(transcript, transcript.segments[:number] + [merged] + transcript.segments[number + 2:])


def _segment_of(transcript: Transcript, word_index: object) -> tuple[int, list, int]:
    """(segment number, its words, the word's place among them) of the word ``word_index``."""
    whole = isinstance(word_index, int) or (isinstance(word_index, float) and word_index.is_integer())
    if isinstance(word_index, bool) or not whole or not 0 <= word_index < len(transcript.words):
        raise SegmentsError("Pick a word first: click it under the player (or reach it with Next to check).")
    word = transcript.words[int(word_index)]
    for number, words in enumerate(transcript.words_by_segment()):
        if any(w is word for w in words):
            return number, words, next(k for k, w in enumerate(words) if w is word)
    raise SegmentsError("That word belongs to no segment.")


def _with_segments(transcript: Transcript, segments: list[Segment]) -> Transcript:
    return replace(transcript, segments=segments, text=" ".join(s.text for s in segments))
