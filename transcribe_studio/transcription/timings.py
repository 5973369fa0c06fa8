"""Word times for a model that gives none, from a timer model's pass over the same windows.

The spec of a model without word times names a timer model
(``ModelSpec.word_timings_from``). The timer runs over the very windows the
model heard (its own merge handles their overlaps), and each window's words
take the times of the timer's words inside it (:func:`.align.align`);
segments are then re-cut at sentence ends. The transcript's notes say how its
times were obtained, or why not.
"""

from __future__ import annotations

import re

import numpy as np

from ..errors import StudioError
from ..media import SAMPLE_RATE
from ..models import ModelCache, get
from ..models.spec import Heard
from ..progress import Progress
from .align import align
from .merge import transcript_of
from .transcript import Segment, Transcript, Word

# The note a transcript carries while its word times wait for the batch's timer pass.
PENDING_NOTE = "Word times pending: they are added after the other files of this batch."


def add_word_times(cache: ModelCache, spec, audio: np.ndarray, windows: list[tuple[int, int]],
                   transcript: Transcript, progress: Progress) -> str:
    """Give ``transcript`` (one segment per window) word times from its timer model run over the same
    ``windows``; say how, or why not."""
    timer = get(spec.word_timings_from)
    try:
        with cache.use(timer.key) as model:
            heard = list(timer.transcribe(model, audio, windows, cache.settings,
                                          lambda fraction, note: progress(fraction,
                                                                          f"word times ({timer.label}): {note}")))
    except StudioError as error:
        return skipped_note(error)
    return retime(transcript, heard, len(audio) / SAMPLE_RATE, spec)


def skipped_note(error: StudioError) -> str:
    """What a transcript says when its timer model could not run."""
    return f"Word timings skipped: {error.title.lower()}: {error.message} Segments are whole windows."


def retime(transcript: Transcript, heard: list[Heard], duration: float, spec) -> str:
    """Give ``transcript`` (one segment per window) the word times the timer model ``heard`` over the same
    windows of a recording of ``duration`` seconds; say how."""
    timer = get(spec.word_timings_from)
    matched = _retime(transcript, transcript_of(heard, duration).words)
    return (f"Word times from a {timer.label} pass over the same windows, aligned to {spec.label}'s words "
            f"({matched} of {len(transcript.words)} heard; the rest interpolated, marked \"estimated\").")


def pending_windows(transcript: Transcript) -> list[tuple[int, int]]:
    """The windows a transcript left pending was heard in: its segments, one per window."""
    return [(round(s.start * SAMPLE_RATE), round(s.end * SAMPLE_RATE)) for s in transcript.segments]


def settle_pending(transcript: Transcript, note: str) -> None:
    """Put the timer pass's note in place of the pending one."""
    transcript.word_times_pending = False
    transcript.notes = [note if n == PENDING_NOTE else n for n in transcript.notes]


def _retime(transcript: Transcript, timed: list[Word]) -> int:
    """Each window's words aligned to the timer's words inside it; segments re-cut at sentence ends."""
    words, segments = [], []
    for window in transcript.segments:
        inside = [w for w in timed if window.start <= (w.start + w.end) / 2 <= window.end]
        window_words = align(window.text.split(), inside, window.start, window.end)
        words += window_words
        segments += _sentences(window_words)
    transcript.words, transcript.segments = words, segments
    return sum(not w.estimated for w in words)


_SENTENCE_END = re.compile(r"[.!?][\"')\]]*$")


def _sentences(words: list[Word]) -> list[Segment]:
    """Segments of whole sentences, from their first word's start to their last word's end."""
    segments, current = [], []
    for word in words:
        current.append(word)
        if _SENTENCE_END.search(word.text):
            segments.append(Segment(current[0].start, current[-1].end, " ".join(w.text for w in current)))
            current = []
    if current:
        segments.append(Segment(current[0].start, current[-1].end, " ".join(w.text for w in current)))
    return segments
