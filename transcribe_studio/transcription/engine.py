"""16 kHz mono audio in, :class:`Transcript` out, with the model from the cache.

The model's spec says how long a piece of audio one model call takes; the
audio is cut into such windows at pauses (:mod:`..media.windows`; stretches
silent to the detector and by level are left out, and listed in the
transcript's ``skipped``), and the spec's ``transcribe`` runs the plain NeMo
call on the in-memory windows, so nothing is re-read from disk. What it hears,
stretch by stretch, is merged into one transcript (:mod:`.merge`); the text so
far goes to whoever watches the job as each stretch arrives.

Three per-job options go around that call:

* **Names and terms** (``Options.vocabulary``): inside the spec's ``vocabulary``
  context (NeMo's phrase boosting); a model without one says so in the
  transcript's notes.
* **Languages** (``Options.language``, ``Options.translate_to``): the recording's language and the one to write,
  inside the spec's prompt context (:class:`..models.spec.LanguagePrompt`) for a model told by its prompt;
  what a model cannot do is refused before it loads (:func:`.language.check_choice`).
* **Word timings** for a model that gives none: its spec names a timer model,
  which runs over the same windows (:mod:`.timings`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..media import SAMPLE_RATE
from ..media.windows import Plan, plan_cuts
from ..models import ModelCache, get
from ..models.spec import Heard
from ..progress import Progress, no_progress, show_partial
from . import costs, timings
from .language import check_choice, written
from .merge import transcript_of
from .transcript import Skipped, Transcript

NOT_ASKED_NOTE = "Word timings were not asked for: one segment per window."


@dataclass(frozen=True)
class Options:
    """What a person chose for one job, beyond the model."""
    vocabulary: tuple[str, ...] = ()  # names and terms to favour (models/vocabulary.py)
    word_timings: bool = True         # give a model without word times its timer model's
    speakers: bool = False            # label who spoke (speakers.py), after transcribing
    language: str = ""                # the recording's language (ISO 639-1); "": the model finds it
    translate_to: str = ""            # the language to write, when not the recording's; "": what it hears


def transcribe(cache: ModelCache, key: str, audio: np.ndarray, progress: Progress | None = None,
               options: Options | None = None, stage: Callable[[str], Progress] | None = None) -> Transcript:
    """Transcribe ``audio`` with the model ``key``; ``progress`` may raise Cancelled between windows.
    ``stage``: the progress of each stage by name ("passes", "timing"; see :mod:`.costs`), else ``progress``."""
    progress, options = progress or no_progress, options or Options()
    stage = stage or (lambda name: progress)
    passes = stage("passes")
    spec = get(key)
    check_choice(spec, options.language, options.translate_to)
    notes = []
    with cache.use(key) as model:
        window = spec.window_seconds(cache.settings, model)
        listening = costs.voice_share(cache, key) if len(audio) > window * SAMPLE_RATE else 0.0  # see plan_cuts
        cuts = plan_cuts(audio, window, lambda fraction, note: passes(listening * fraction, note))
        with prepared(spec, model, options, cache.settings.vocabulary_weight, notes):
            heard = []
            for stretch in spec.transcribe(model, audio, cuts.windows, cache.settings, lambda fraction, note: passes(
                    listening + (1 - listening) * fraction, f"{spec.label}: {note}")):
                heard.append(stretch)
                show_partial(transcript_of(heard, 0.0).text)
    transcript = transcript_from(spec, heard, len(audio), cuts, options)
    if spec.word_timings_from and transcript.segments:
        notes.append(_word_timings(cache, spec, audio, cuts.windows, transcript, options, stage("timing")))
    transcript.notes = notes + transcript.notes
    return transcript


def transcript_from(spec, heard: list[Heard], samples: int, cuts: Plan, options: Options) -> Transcript:
    """The stretches ``spec``'s model heard in a recording of ``samples``, as one transcript with what was left out
    and its languages."""
    transcript = transcript_of(heard, samples / SAMPLE_RATE)
    transcript.model = spec.label
    transcript.language = written(spec, options.language, options.translate_to, transcript.text)
    if options.language and transcript.language != options.language:
        transcript.translated_from = options.language
    transcript.skipped = [Skipped(round(start / SAMPLE_RATE, 3), round(end / SAMPLE_RATE, 3), cuts.why)
                          for start, end in cuts.skipped]
    return transcript


@contextlib.contextmanager
def prepared(spec, model, options: Options, weight: float, notes: list[str]):
    """The context inside which ``model`` hears and writes the job's languages and favours its names and terms;
    ``notes`` hears what was done."""
    told = spec.prompt.speaking(model, options.language, options.translate_to or options.language) \
        if spec.prompt is not None else contextlib.nullcontext()
    with told, _favouring(spec, model, options, weight, notes):
        yield


def _favouring(spec, model, options: Options, weight: float, notes: list[str]):
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
    """Word times from the spec's timer model (one file swaps the two models if they do not fit together on
    the GPU; many files never do, see batched.py); the note says how."""
    if not options.word_timings:
        return NOT_ASKED_NOTE
    return timings.add_word_times(cache, spec, audio, windows, transcript, progress)
