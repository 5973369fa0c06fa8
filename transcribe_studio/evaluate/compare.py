"""Each available model over the same recordings: what it heard in each, its errors against the references, and
its speed, measured as the app runs it (the batched path: decoding and voice detection included; the model's load
timed apart)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..classify import report
from ..errors import StudioError
from ..media import SAMPLE_RATE
from ..media.decode import decode_audio
from ..models import ModelCache, get
from ..transcription import batched, engine
from ..transcription.language import check_choice
from .pairs import Pair
from .scoring import Errors, errors, normalised


@dataclass
class FileScore:
    audio: Path
    reference: str  # normalised, as scored
    hypothesis: str = ""  # normalised
    seconds: float = 0.0  # the recording's length
    errors: Errors = field(default_factory=Errors)
    problem: str = ""  # why it has no score (it could not be decoded or transcribed)


@dataclass
class ModelScore:
    key: str
    files: list[FileScore] = field(default_factory=list)
    load_seconds: float = 0.0
    run_seconds: float = 0.0  # transcribing every file, from the first decode to the last word
    problem: str = ""  # why the model has no scores (it could not load)

    @property
    def label(self) -> str:
        return get(self.key).label

    @property
    def scored(self) -> list[FileScore]:
        return [f for f in self.files if not f.problem]

    @property
    def total(self) -> Errors:
        return sum((f.errors for f in self.scored), Errors())

    @property
    def speed(self) -> float:
        """Seconds of audio transcribed a second (RTFx)."""
        return sum(f.seconds for f in self.scored) / self.run_seconds if self.run_seconds else 0.0


def compare(cache: ModelCache, keys: list[str], pairs: list[Pair], language: str,
            on_model: Callable[[str], None] = lambda key: None, keep_loaded: bool = False) -> list[ModelScore]:
    """Every model of ``keys`` over every pair, one model after the other, each unloaded before the next so each
    has the memory to itself; ``keep_loaded``: left to the cache (the studio's, whose other jobs may use them; it
    makes room on the GPU itself)."""
    scores = []
    for key in keys:
        on_model(key)
        scores.append(_one_model(cache, key, pairs, language))
        if not keep_loaded:
            cache.unload(key)
    return scores


def _one_model(cache: ModelCache, key: str, pairs: list[Pair], language: str) -> ModelScore:
    score = ModelScore(key)
    started = time.perf_counter()
    try:
        check_choice(get(key), language)  # a model that does not hear the recordings' language is not scored
        cache.load(key)
    except StudioError as error:
        score.problem = error.user_message()
        return score
    score.load_seconds = time.perf_counter() - started
    references = {pair.audio: normalised(pair.reference, language) for pair in pairs}
    started = time.perf_counter()
    # word_timings off: the model alone is measured (the timing pass adds another model, and no words to score)
    for heard in batched.transcribe_files(cache, key, list(references), _decoded(cache),
                                          engine.Options(word_timings=False, language=language)):
        score.files.append(_file_score(heard, references[heard.source], language))
    score.run_seconds = time.perf_counter() - started
    order = {pair.audio: index for index, pair in enumerate(pairs)}
    score.files.sort(key=lambda f: order[f.audio])
    return score


def _decoded(cache: ModelCache):
    return lambda path: decode_audio(path, max_bytes=int(cache.settings.max_file_mb * 1_000_000))


def _file_score(heard: batched.FileHeard, reference: str, language: str) -> FileScore:
    if heard.error is not None:
        return FileScore(heard.source, reference, problem=report(heard.error, f"evaluating {heard.source.name}")
                         .user_message())
    hypothesis = normalised(heard.transcript.text, language)
    if not reference:
        return FileScore(heard.source, reference, hypothesis, problem="its reference has no words once normalised")
    return FileScore(heard.source, reference, hypothesis, len(heard.audio) / SAMPLE_RATE, errors(reference, hypothesis))
