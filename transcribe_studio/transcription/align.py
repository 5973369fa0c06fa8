"""Give the words of one text the times of another transcript's words.

A speech-LLM may write the better text but give no times; a recogniser with word
times, run over the same audio, gives them (:mod:`.timings`). So the text's words are
aligned to the timed words with a word-level edit distance on normalised words
(lower case, punctuation dropped): a word that matches, or stands in for (a
substitution), a timed word takes its times; a word the timer did not hear (an
insertion) gets times interpolated
between its timed neighbours, in proportion to its length, inside the window. The
same alignment keeps times when a person edits a transcript.

Every word comes out with a time, in order, inside ``[start, end]``.
"""

from __future__ import annotations

import re
from dataclasses import replace
from difflib import SequenceMatcher

from .transcript import Word

_NOT_WORD = re.compile(r"[^\w']+")


def normalise(word: str) -> str:
    """``"Hello,"`` and ``"hello"`` are the same word; ``"don't"`` keeps its apostrophe."""
    return _NOT_WORD.sub("", word.lower()).strip("'")


def align(texts: list[str], timed: list[Word], start: float, end: float, by_person: bool = False) -> list[Word]:
    """``texts`` (words in order) with times from ``timed``, all inside ``[start, end]``.

    Words matched to a timed word keep its times; the others are marked ``estimated``. With ``by_person``
    (a person's edit), every word that is not one of ``timed`` unchanged is marked ``edited``.
    """
    if not texts:
        return []
    pairs = _edit_path([normalise(t) for t in texts], [normalise(w.text) for w in timed])
    anchors: dict[int, Word] = {i: timed[j] for i, j in pairs}
    words: list[Word | None] = [_anchored(text, anchors[i], start, end, by_person) if i in anchors else None
                                for i, text in enumerate(texts)]
    _monotonic(words)
    return _interpolate(texts, words, start, end, by_person)


def _anchored(text: str, anchor: Word, start: float, end: float, by_person: bool) -> Word:
    """``text`` on its anchor's time. It keeps the rest of what was known of the anchor (its speaker; whether
    its time was itself estimated), except when it is another word: the anchor's confidence was in that one."""
    same = normalise(text) == normalise(anchor.text)
    return replace(anchor, start=_clip(anchor.start, start, end), end=_clip(anchor.end, start, end), text=text,
                   confidence=anchor.confidence if same else None, edited=anchor.edited or (by_person and not same))


def _clip(t: float, start: float, end: float) -> float:
    return min(max(t, start), end)


def _edit_path(a: list[str], b: list[str]) -> list[tuple[int, int]]:
    """Index pairs (i in a, j in b) that a minimal edit script matches or substitutes, in order.

    A substitution costs 1 like an insertion or deletion, but an exact match 0, so equal
    words line up first; a substituted word still takes the times of the word it replaces.
    """
    n, m = len(a), len(b)
    if n * m > MAX_TABLE_CELLS:
        return _matching_runs(a, b)
    cost = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        cost[i][0] = i
    for j in range(m + 1):
        cost[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            same = 0 if a[i - 1] == b[j - 1] else 1
            cost[i][j] = min(cost[i - 1][j - 1] + same, cost[i - 1][j] + 1, cost[i][j - 1] + 1)
    pairs, i, j = [], n, m
    while i and j:
        same = 0 if a[i - 1] == b[j - 1] else 1
        if cost[i][j] == cost[i - 1][j - 1] + same:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif cost[i][j] == cost[i - 1][j] + 1:
            i -= 1
        else:
            j -= 1
    return pairs[::-1]


def _monotonic(words: list[Word | None]) -> None:
    """Timed words never start before the previous one ended (a timer can overlap at its own cuts)."""
    last = None
    for k, word in enumerate(words):
        if word is None:
            continue
        if last is not None and word.start < last:
            words[k] = word = replace(word, start=last, end=max(word.end, last))
        last = word.end


def _interpolate(texts: list[str], words: list[Word | None], start: float, end: float,
                 by_person: bool = False) -> list[Word]:
    """Untimed runs share the gap between their timed neighbours, in proportion to their length."""
    out = list(words)
    k = 0
    while k < len(out):
        if out[k] is not None:
            k += 1
            continue
        run_end = k
        while run_end < len(out) and out[run_end] is None:
            run_end += 1
        left = out[k - 1].end if k else start
        right = out[run_end].start if run_end < len(out) else end
        out[k:run_end] = _spread(texts[k:run_end], left, max(right, left), by_person)
        k = run_end
    return out


def _spread(texts: list[str], left: float, right: float, edited: bool = False) -> list[Word]:
    weights = [max(len(t), 1) for t in texts]
    total, done, spread = sum(weights), 0, []
    for text, weight in zip(texts, weights):
        # from the running total, not by adding steps, so the last word ends exactly at ``right``
        begin = left + (right - left) * done / total
        done += weight
        finish = right if done == total else left + (right - left) * done / total
        spread.append(Word(begin, finish, text, estimated=True, edited=edited))
    return spread


# The table above costs about 50 bytes a cell in Python: past a million cells (a long segment rewritten whole),
# difflib's matching runs, whose memory grows with the texts and not with their product.
MAX_TABLE_CELLS = 1_000_000


def _matching_runs(a: list[str], b: list[str]) -> list[tuple[int, int]]:
    """Index pairs in order, as :func:`_edit_path` gives them, from difflib: equal runs match, and the words of
    a replaced run pair up in order (a substituted word takes the times of the word it replaces)."""
    pairs = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag in ("equal", "replace"):
            pairs += zip(range(i1, i2), range(j1, j2))
    return pairs
