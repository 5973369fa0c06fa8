"""What a model heard, stretch by stretch, joined into one transcript, each word kept once.

A model yields what it heard in each window or pass (:class:`..models.spec.Heard`);
:func:`transcript_of` puts the stretches together. They overlap only at a hard
cut: where a stretch of speech has no pause within a model's limit, the audio is
cut hard and the next window starts a few seconds before the cut
(:mod:`..media.windows`): both windows hear the overlap, and near its own edge
each hears it worst (the model lacks the context, a word may be cut in two).
These pure functions decide which side's words to keep.

* :func:`merge_timed` (a model with word times): every word of both
  sides that could be the same word as one on the other side (their times
  overlap) is *contested*. Contested words are taken in order of their distance
  from their own window's edge, farthest first, and one is kept unless a word
  already kept from the other side overlaps it by more than half the shorter of
  the two. So a word heard on both sides is kept once, from the side where it
  lies farther from the cut; a word heard on one side only is kept; and a word
  is dropped only for one kept in its place. It works on times alone, so a
  repeated word ("no, no, no") is matched by where it was said, not by its text.
* :func:`merge_text` (a model without word times): the longest common
  run of normalised words (lower case, no punctuation) between the end of the
  left text and the start of the right one, searched only where the overlap can
  lie; the left side keeps the words before the run's middle, the right side the
  rest. With no run to trust, each side keeps the words it holds up to the middle
  of the overlap, estimating each word's time from its position in the text.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from dataclasses import dataclass
from typing import Sequence, TypeVar

from ..models.spec import Heard
from .transcript import Segment, Transcript, Word

# Words shorter than this count as this long when comparing times: one encoder frame of the
# FastConformer models (80 ms); a word stamped with zero length still covers the frame it was emitted in.
MIN_WORD_SECONDS = 0.08
# Two words from the two sides are the same word when their times overlap by more than this
# share of the shorter one; neighbours whose stamps touch or graze are not.
SAME_WORD_OVERLAP = 0.5
# ...or when they say the same (normalised) word with their middles this close: one encoder frame
# and a half, as two passes' frame grids put the same short word up to a frame apart.
SAME_TEXT_SECONDS = 0.12
# A common run of one word is trusted only where the two sides put it this close in time.
ONE_WORD_RUN_SECONDS = 1.0

Timed = TypeVar("Timed")  # anything with .start and .end in seconds (a word, a piece of one)


def _span(item) -> tuple[float, float]:
    """The item's time span, widened around its middle to at least MIN_WORD_SECONDS."""
    start, end = float(item.start), float(item.end)
    if end - start < MIN_WORD_SECONDS:
        middle = (start + end) / 2
        return middle - MIN_WORD_SECONDS / 2, middle + MIN_WORD_SECONDS / 2
    return start, end


def _same_word(a, b) -> bool:
    (a0, a1), (b0, b1) = _span(a), _span(b)
    shared = min(a1, b1) - max(a0, b0)
    if shared > SAME_WORD_OVERLAP * min(a1 - a0, b1 - b0):
        return True
    text_a, text_b = _normalised(getattr(a, "text", "")), _normalised(getattr(b, "text", ""))
    return bool(text_a) and text_a == text_b and abs(_middle(a) - _middle(b)) < SAME_TEXT_SECONDS


def merge_timed(left: Sequence[Timed], right: Sequence[Timed], left_end: float, right_start: float) -> list[Timed]:
    """``left`` (heard by a window ending at ``left_end``) and ``right`` (by one starting at
    ``right_start``, before ``left_end``) as one time-ordered list, each word kept once.

    Items need ``.start`` and ``.end`` on one clock; they are returned as given, never changed.
    """
    if not left or not right:
        return [*left, *right]
    # Only words whose times reach (or nearly reach) the other side's could be heard twice.
    right_from = min(_span(w)[0] for w in right) - SAME_TEXT_SECONDS
    left_to = max(_span(w)[1] for w in left) + SAME_TEXT_SECONDS
    contested = ([(left_end - _middle(w), 0, w) for w in left if _span(w)[1] > right_from]
                 + [(_middle(w) - right_start, 1, w) for w in right if _span(w)[0] < left_to])
    kept: tuple[list, list] = ([], [])
    for _, side, word in sorted(contested, key=lambda c: (-c[0], c[1])):  # farthest from its edge first
        if not any(_same_word(word, other) for other in kept[1 - side]):
            kept[side].append(word)
    chosen = {id(w) for w in kept[0] + kept[1]}
    sure_left = [w for w in left if _span(w)[1] <= right_from]
    sure_right = [w for w in right if _span(w)[0] >= left_to]
    middle = sorted((w for w in [*left, *right] if id(w) in chosen), key=lambda w: (_middle(w), w.end))
    return [*sure_left, *middle, *sure_right]


def _middle(item) -> float:
    return (float(item.start) + float(item.end)) / 2


def _normalised(word: str) -> str:
    return re.sub(r"[^\w']+", "", word.lower())


def _longest_common_run(a: Sequence[str], b: Sequence[str]) -> list[tuple[int, int, int]]:
    """Every (i, j, k) with a[i:i+k] == b[j:j+k] of the greatest k >= 1 (empty words never match)."""
    best, runs = 0, []
    previous = [0] * (len(b) + 1)
    for i in range(1, len(a) + 1):
        current = [0] * (len(b) + 1)
        for j in range(1, len(b) + 1):
            if a[i - 1] and a[i - 1] == b[j - 1]:
                current[j] = previous[j - 1] + 1
                if current[j] > best:
                    best, runs = current[j], []
                if current[j] == best:
                    runs.append((i - best, j - best, best))
        previous = current
    return runs


def merge_text(left: str, right: str, left_span: tuple[float, float],
               right_span: tuple[float, float]) -> tuple[str, str]:
    """The texts of two windows that overlap (``right_span[0] < left_span[1]``), trimmed so that
    ``left + " " + right`` says each word once: ``(left kept, right kept)``.

    The spans are the windows' times; a word's time is estimated from its place in its text.
    """
    left_words, right_words = left.split(), right.split()
    if not left_words or not right_words:
        return left.strip(), right.strip()
    (l0, l1), (r0, r1) = left_span, right_span
    left_time = lambda i: l0 + (l1 - l0) * (i + 0.5) / len(left_words)  # noqa: E731 - two tiny estimates
    right_time = lambda j: r0 + (r1 - r0) * (j + 0.5) / len(right_words)  # noqa: E731
    overlap = max(0.0, l1 - r0)
    # Search where the overlap can lie, with as much again for slack (speech is not evenly spread).
    tail = [i for i in range(len(left_words)) if left_time(i) >= r0 - overlap]
    head = [j for j in range(len(right_words)) if right_time(j) <= l1 + overlap]
    first = tail[0] if tail else len(left_words)
    runs = _longest_common_run([_normalised(w) for w in left_words[first:]],
                               [_normalised(w) for w in right_words[:len(head)]])
    runs = [(first + i, j, k) for i, j, k in runs
            if k > 1 or abs(left_time(first + i) - right_time(j)) <= ONE_WORD_RUN_SECONDS]
    if runs:
        i, j, k = min(runs, key=lambda r: abs(left_time(r[0]) - right_time(r[1])))
        keep_left, skip_right = i + k // 2, j + k // 2
    else:
        cut = (r0 + l1) / 2
        keep_left = sum(left_time(i) < cut for i in range(len(left_words)))
        skip_right = sum(right_time(j) < cut for j in range(len(right_words)))
    return " ".join(left_words[:keep_left]), " ".join(right_words[skip_right:])


# --- stretches to a transcript ------------------------------------------------

def transcript_of(heard: Sequence[Heard], duration: float) -> Transcript:
    """The stretches a model heard (in time order) as one transcript on the recording's clock.

    Stretches with word times are merged word by word (:func:`merge_timed`), the others by their
    texts (:func:`merge_text`); each stretch's note is kept once.
    """
    if any(h.words or h.segments for h in heard):
        words, segments = _words_and_segments(_merged_pieces(heard))
    else:
        words, segments = [], [s for s in _text_segments(heard) if s.text]
    return Transcript(text=" ".join(s.text for s in segments), segments=segments, words=words,
                      duration=duration, notes=[h.note for h in heard if h.note])


@dataclass(frozen=True)
class _Piece:
    """A word of one stretch, and the segment (stretch, index) it belongs to.

    A stretch with text but no word times gives its segments as pieces (``is_word`` False).
    """
    start: float
    end: float
    text: str
    segment: tuple[int, int]
    is_word: bool = True
    confidence: float | None = None


def _pieces(heard: Heard, index: int) -> list[_Piece]:
    """The stretch's words, tagged with their segment (a model's segments are runs of consecutive
    words joined by spaces); its segments themselves where it has no words."""
    if not heard.words:
        return [_Piece(s.start, s.end, s.text, (index, i), is_word=False) for i, s in enumerate(heard.segments)]
    counts = [len(s.text.split()) for s in heard.segments]
    if sum(counts) == len(heard.words):
        owners = [i for i, count in enumerate(counts) for _ in range(count)]
    else:  # not the usual make-up: the last segment starting at or before the word
        owners = [max([i for i, s in enumerate(heard.segments) if s.start <= w.start + 1e-6] or [0])
                  for w in heard.words]
    return [_Piece(w.start, w.end, w.text, (index, owner), confidence=w.confidence)
            for w, owner in zip(heard.words, owners)]


def _merged_pieces(heard: Sequence[Heard]) -> list[_Piece]:
    """All stretches' pieces in time order; where a stretch overlaps the one before (a hard cut), each
    word is kept once (:func:`merge_timed`), and times never run backwards."""
    pieces: list[_Piece] = []
    reached = 0.0
    for index, stretch in enumerate(heard):
        own = _pieces(stretch, index)
        if pieces and stretch.start < reached:
            pieces = merge_timed(pieces, own, reached, stretch.start)
        else:
            pieces = pieces + own
        reached = max(reached, stretch.end)
    untangled: list[_Piece] = []
    for piece in pieces:  # words kept from two sides may graze each other at the seam
        begin = max(piece.start, untangled[-1].end) if untangled else piece.start
        untangled.append(dataclasses.replace(piece, start=begin, end=max(piece.end, begin)))
    return untangled


def _words_and_segments(pieces: list[_Piece]) -> tuple[list[Word], list[Segment]]:
    """Words, and segments rebuilt from runs of pieces of one segment (first start, last end, texts joined)."""
    words = [Word(p.start, p.end, p.text, confidence=p.confidence) for p in pieces if p.is_word]
    segments: list[Segment] = []
    for _, run in itertools.groupby(pieces, key=lambda p: p.segment):
        run = list(run)
        segments.append(Segment(run[0].start, run[-1].end, " ".join(p.text for p in run)))
    return words, segments


def _text_segments(heard: Sequence[Heard]) -> list[Segment]:
    """One segment per stretch; where a stretch overlaps the one before (a hard cut), the two texts
    are merged (:func:`merge_text`) and the segments meet in the middle of the overlap."""
    segments: list[Segment] = []
    for stretch in heard:
        begin, finish, text = stretch.start, stretch.end, stretch.text
        if segments and begin < segments[-1].end:
            before = segments[-1]
            kept_before, text = merge_text(before.text, text, (before.start, before.end), (begin, finish))
            middle = (begin + before.end) / 2
            segments[-1] = Segment(before.start, middle, kept_before)
            begin = middle
        segments.append(Segment(begin, finish, text))
    return segments
