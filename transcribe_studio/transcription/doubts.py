"""The words of a transcript a person should check, and why.

Two kinds of word are in doubt: one the model gave a low confidence (below a threshold the person can move),
and one whose time a timing pass did not hear (``estimated``: a speech-LLM's word that the timer model did not
hear at all is as likely to be a word it made up as one it heard). A word a person wrote or changed
(``edited``) is never in doubt again: they have checked it.

Why 0.7 by default: with NeMo's entropy-based confidence (Tsallis, alpha 0.33, exponential normalisation, the
minimum over a word's tokens; see :mod:`..models.nemo_asr`), words heard right cluster near 1 and the ones
heard wrong spread over the lower half and more. 0.7 is a provisional cut that flags few correct words; the
figure to set it from is measured on real weights by ``benchmarks/confidence.py`` (docs/PERFORMANCE.md says
where it stands).
"""

from __future__ import annotations

from dataclasses import dataclass

from .transcript import Transcript, Word

DEFAULT_THRESHOLD = 0.7
NOT_HEARD = "not heard by the timing pass (its time is estimated)"


@dataclass(frozen=True)
class Doubt:
    index: int    # the word's place in ``Transcript.words``
    start: float
    text: str
    reason: str   # for people: "confidence 0.42", or NOT_HEARD


def evidence(word: Word) -> tuple[float | None, bool]:
    """What a doubt about ``word`` rests on, for a threshold chosen later: its confidence, and whether no timing
    pass heard it. Neither, for a word a person wrote."""
    if word.edited:
        return None, False
    return word.confidence, word.estimated and word.confidence is None


def doubt(word: Word, threshold: float = DEFAULT_THRESHOLD) -> str | None:
    """Why ``word`` should be checked, or None."""
    return reason(*evidence(word), threshold)


def reason(confidence: float | None, not_heard: bool, threshold: float = DEFAULT_THRESHOLD) -> str | None:
    """Why a word with this evidence should be checked at ``threshold``, or None."""
    if confidence is not None and confidence < threshold:
        return f"confidence {confidence:.2f}"
    return NOT_HEARD if not_heard else None


def doubts(transcript: Transcript, threshold: float = DEFAULT_THRESHOLD) -> list[Doubt]:
    """Every word to check, in order."""
    found = []
    for index, word in enumerate(transcript.words):
        reason = doubt(word, threshold)
        if reason:
            found.append(Doubt(index, word.start, word.text, reason))
    return found


def lowest_confidence(words: list[Word]) -> float | None:
    """The lowest confidence among ``words`` the model scored (a segment is as doubtful as its worst word)."""
    scored = [w.confidence for w in words if w.confidence is not None and not w.edited]
    return min(scored) if scored else None
