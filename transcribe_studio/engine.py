"""16 kHz mono audio in, :class:`Transcript` out, with the model from the cache.

The model's spec says how long a piece of audio one model call takes; the
audio is cut into such windows at pauses (:mod:`.media.windows`; stretches
silent to the detector and by level are left out, and listed in the
transcript's ``skipped``), and the
spec's ``transcribe`` runs the plain NeMo call (``ASRModel.transcribe`` or
``SALM.generate``) on the in-memory windows, so nothing is re-read from disk.

Two per-job options go around that call:

* **Names and terms** (``Options.vocabulary``): inside the spec's ``vocabulary``
  context (Parakeet: NeMo's phrase boosting); a model without one says so in the
  transcript's notes.
* **Word timings** for a model that gives none (Canary-Qwen): its spec names a
  timer model (Parakeet); the timer runs over the same windows and the text's
  words take its times (:mod:`.align`). The transcript says how its times were
  obtained, and why not when they could not be.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass

import numpy as np

from .align import align
from .errors import StudioError
from .media import SAMPLE_RATE
from .media.windows import plan_cuts
from .models import ModelCache, get
from .progress import Progress, no_progress, partial_to
from .transcript import Segment, Skipped, Transcript, Word


@dataclass(frozen=True)
class Options:
    """What a person chose for one job, beyond the model."""
    vocabulary: tuple[str, ...] = ()  # names and terms to favour (models/vocabulary.py)
    word_timings: bool = True         # give a model without word times its timer's (Canary-Qwen: Parakeet's)
    speakers: bool = False            # label who spoke (speakers.py), after transcribing
    # when the timer does not fit on the GPU beside the model: leave the word times pending (a batch
    # then adds them to every file in one timer pass at its end, see batch.py) instead of swapping
    # the two models for this file
    defer_word_timings: bool = False


# The note a transcript carries while its word times wait for the batch's timer pass.
PENDING_TIMINGS = "Word times pending: they are added after the other files of this batch."


def transcribe(cache: ModelCache, key: str, audio: np.ndarray, progress: Progress | None = None,
               options: Options | None = None) -> Transcript:
    """Transcribe ``audio`` with the model ``key``; ``progress`` may raise Cancelled between windows."""
    progress, options = progress or no_progress, options or Options()
    spec = get(key)
    notes = []
    with cache.use(key) as model:
        cuts = plan_cuts(audio, spec.window_seconds(cache.settings, model), progress)
        with _vocabulary(spec, model, options, cache.settings.vocabulary_weight, notes):
            transcript = spec.transcribe(model, audio, cuts.windows, cache.settings,
                                         lambda fraction, note: progress(fraction, f"{spec.label}: {note}"))
    transcript.model = spec.label
    transcript.skipped = [Skipped(round(start / SAMPLE_RATE, 3), round(end / SAMPLE_RATE, 3), cuts.why)
                          for start, end in cuts.skipped]
    if spec.word_timings_from and transcript.segments:
        notes.append(_word_timings(cache, spec, audio, cuts.windows, transcript, options, progress))
    transcript.notes = notes + transcript.notes
    return transcript


def _vocabulary(spec, model, options: Options, weight: float, notes: list[str]):
    if not options.vocabulary:
        return contextlib.nullcontext()
    if spec.vocabulary is None:
        notes.append(f"The names and terms list does not apply to {spec.label} (its prompt is fixed by its "
                     "training); it was not used.")
        return contextlib.nullcontext()
    notes.append(f"Names and terms favoured (weight {weight:g}): {', '.join(options.vocabulary)}.")
    return spec.vocabulary(model, list(options.vocabulary), weight)


def _word_timings(cache: ModelCache, spec, audio: np.ndarray, windows: list[tuple[int, int]],
                  transcript: Transcript, options: Options, progress: Progress) -> str:
    """Give ``transcript`` (one segment per window) word times from the timer model run over the same
    ``windows`` (its own merge handles their overlaps); say how, or why not."""
    timer = get(spec.word_timings_from)
    if not options.word_timings:
        return "Word timings were not asked for: one segment per window."
    if options.defer_word_timings and not cache.fits_together(spec.key, timer.key):
        return PENDING_TIMINGS
    try:
        # partial_to(no sink): the page keeps showing the text so far, not the timer's own words
        with cache.use(timer.key) as model, partial_to(lambda text: None):
            timed = timer.transcribe(model, audio, windows, cache.settings,
                                     lambda fraction, note: progress(fraction, f"word times ({timer.label}): {note}"))
    except StudioError as error:
        return f"Word timings skipped: {error.title.lower()}: {error.message} Segments are whole windows."
    matched = _retime(transcript, timed.words)
    return (f"Word times from a {timer.label} pass over the same windows, aligned to {spec.label}'s words "
            f"({matched} of {len(transcript.words)} heard; the rest interpolated, marked \"estimated\").")


def add_word_timings(cache: ModelCache, key: str, audio: np.ndarray, transcript: Transcript,
                     progress: Progress | None = None) -> None:
    """Give a transcript whose word times were left pending (:data:`PENDING_TIMINGS`) its times now,
    running the timer over its segments (each one window), and put the final note in place of the pending one."""
    spec = get(key)
    windows = [(round(s.start * SAMPLE_RATE), round(s.end * SAMPLE_RATE)) for s in transcript.segments]
    note = _word_timings(cache, spec, audio, windows, transcript, Options(), progress or no_progress)
    transcript.notes = [note if n == PENDING_TIMINGS else n for n in transcript.notes]


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
