"""Ask a model's language model about a transcript: a summary, the action items, or a question.

The model is the registered one with a language model (``ModelSpec.language_model``,
a speech-LLM's own language model): text in, text out, so it works on a transcript from
any model, but it knows only the words it is given, and every answer says so.

* A transcript longer than the language model's input budget is cut at segment or
  sentence boundaries into parts that fit. Summary and action items: each part
  is condensed (a short summary, its action items), then the notes are merged -
  again in parts while they are still too long. A question: each part is first
  reduced to what is relevant to the question (parts with nothing relevant are
  dropped), and the question is answered once from those notes; answering per
  part and merging answers would cost as much and lose the context.

Loading errors arrive as :class:`.errors.StudioError` from the cache; callers classify
generation errors with :func:`.classify.report`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from .errors import EmptyAnswerError, EmptyQuestionError, EmptyTranscriptError, StudioError
from .models import ModelCache
from .models.spec import LanguageModel, ModelSpec, answerers
from .transcription.transcript import Transcript

# Longest answer: ~550 words, a page of summary or a long list. Bounds the time a
# call can take when a small model repeats itself until the limit.
MAX_NEW_TOKENS = 768
# Merging rounds before giving up; each round divides the text by at least 2, so
# 8 rounds cover far more than any transcript.
MAX_ROUNDS = 8


Progress = Callable[[float, str], None]


def answering_model() -> ModelSpec:
    """The model whose language model answers (the page names it from here)."""
    found = answerers()
    if not found:
        raise StudioError("No model here answers questions about a transcript.",
                          next_steps="Use a model with a language model (see the Help tab).")
    return found[0]


@dataclass
class Answer:
    text: str
    parts: int = 1  # parts the transcript was read in (1: all at once)
    note: str = ""  # what made it and what it cannot know

    def markdown(self) -> str:
        how = f" The transcript was read in {self.parts} parts." if self.parts > 1 else ""
        return f"{self.text}\n\n---\n*{self.note}{how}*"


# --- prompts --------------------------------------------------------------

TRANSCRIPT = "this transcript of a recording"
PART = "this part of a recording's transcript"
NOTES = "these notes, taken in order from the parts of a recording's transcript"
NOTHING = "(none of the parts had anything relevant)"


@dataclass(frozen=True)
class Task:
    answer: str  # the final call, over the transcript or the notes
    condense: str  # one part -> notes


SUMMARY = Task(
    answer="Summarise {source} in a few short paragraphs. Use only what it says.",
    condense="Summarise {source} in one short paragraph. Use only what it says.",
)
ACTION_ITEMS = Task(
    answer=("List the action items in {source}: one per line, starting with '- ', with who does it and by when "
            "where that is said. Use only what it says. If there are none, say 'No action items.'"),
    condense=("List the action items in {source}, one per line, with who does it and by when where that is "
              "said. If there are none, say 'None.'"),
)
QUESTION = Task(
    answer=("Answer the question from {source}. Use only what it says; if it does not say, answer that the "
            "transcript does not say.\nQuestion: {question}"),
    condense=("Write down briefly everything in {source} that helps answer the question. If nothing does, "
              "say 'Nothing relevant.'\nQuestion: {question}"),
)

_NOTHING_RE = re.compile(r"^\W*(none|nothing relevant|no action items)\W*$", re.IGNORECASE)
# --- long transcripts -----------------------------------------------------

def _units(transcript: str | Transcript, clean) -> list[str]:
    """Segments of a Transcript, or the sentences (and lines) of plain text."""
    if isinstance(transcript, Transcript) and transcript.segments:
        pieces = [segment.text for segment in transcript.segments]
    else:
        text = transcript.text if isinstance(transcript, Transcript) else transcript
        pieces = re.split(r"(?<=[.!?])\s+|\s*\n\s*", text or "")
    pieces = [" ".join(clean(piece).split()) for piece in pieces]
    return [piece for piece in pieces if piece]


def _fit(lm: LanguageModel, model, unit: str, room: int) -> list[str]:
    """A unit longer than ``room`` tokens, cut at words (and a monster word at characters)."""
    if lm.count_tokens(model, unit) <= room:
        return [unit]
    step = max(1, room // 4)  # a character is at most 4 bytes, so at most 4 byte-level tokens
    words = [w[i:i + step] for w in unit.split() for i in range(0, len(w), step)]
    out: list[str] = []
    for word in words:
        if out and lm.count_tokens(model, f"{out[-1]} {word}") <= room:
            out[-1] = f"{out[-1]} {word}"
        else:
            out.append(word)
    return out


def _pack(lm: LanguageModel, model, units: list[str], sep: str, room: int) -> list[str]:
    """Join consecutive units into as few chunks of at most ``room`` tokens as possible."""
    chunks: list[str] = []
    used = room + 1
    for unit in (piece for u in units for piece in _fit(lm, model, u, room)):
        size = lm.count_tokens(model, sep + unit)
        if chunks and used + size <= room:
            chunks[-1] += sep + unit
            used += size
        else:
            chunks.append(unit)
            used = lm.count_tokens(model, unit)
    return chunks


def _overhead(lm: LanguageModel, model, instruction: str) -> int:
    return lm.prompt_tokens(model, lm.message(instruction, ""))


def _run(cache: ModelCache, task: Task, transcript, question: str = "", *, budget: int | None = None,
         max_new_tokens: int = MAX_NEW_TOKENS, progress: Progress | None = None) -> Answer:
    spec = answering_model()
    lm = spec.language_model
    units = _units(transcript, lm.clean)
    if not units:
        raise EmptyTranscriptError("The transcript is empty.")
    progress = progress or (lambda fraction, note: None)
    with cache.use(spec.key) as model:  # busy: never unloaded mid-answer
        answer = _answer(lm, model, task, units, question, budget or lm.input_budget_tokens, max_new_tokens,
                         lambda fraction, note: progress(fraction, f"{lm.name}: {note}"))
    if not answer.text:
        raise EmptyAnswerError(f"{lm.name} returned only reasoning or nothing at all.")
    answer.note = lm.note
    return answer


def _answer(lm: LanguageModel, model, task: Task, units: list[str], question: str, budget: int,
            max_new_tokens: int, progress: Progress) -> Answer:
    source, sep, parts = TRANSCRIPT, " ", 1
    for round_ in range(MAX_ROUNDS):
        answer = task.answer.format(source=source, question=question)
        text = sep.join(units)
        if _overhead(lm, model, answer) + lm.count_tokens(model, text) <= budget:
            break
        condense = task.condense.format(source=PART if round_ == 0 else NOTES, question=question)
        room = budget - _overhead(lm, model, condense)
        # Notes at most a quarter of a part, so that each round at least halves the text.
        note_tokens = min(max_new_tokens, room // 4)
        if note_tokens < 16:
            raise ValueError(f"an input budget of {budget} tokens leaves no room for the transcript")
        chunks = _pack(lm, model, units, sep, room)
        notes = []
        for done, chunk in enumerate(chunks, 1):
            notes.append(lm.generate(model, lm.message(condense, chunk), note_tokens))
            progress(done / len(chunks), f"read part {done} of {len(chunks)}")
        if round_ == 0:
            parts = len(chunks)
        units = [note for note in notes if note and not _NOTHING_RE.match(note)] or [NOTHING]
        source, sep = NOTES, "\n\n"
    else:
        raise RuntimeError(f"the notes did not fit in {budget} tokens after {MAX_ROUNDS} rounds")
    return Answer(lm.generate(model, lm.message(answer, text), max_new_tokens), parts)


# --- the three questions --------------------------------------------------

def summarise(cache: ModelCache, transcript: str | Transcript, **options) -> Answer:
    """A few paragraphs summarising the transcript. ``options``: budget, max_new_tokens, progress."""
    return _run(cache, SUMMARY, transcript, **options)


def action_items(cache: ModelCache, transcript: str | Transcript, **options) -> Answer:
    """The action items ("- ..." lines, with owner and deadline where said)."""
    return _run(cache, ACTION_ITEMS, transcript, **options)


def ask(cache: ModelCache, transcript: str | Transcript, question: str, **options) -> Answer:
    """Answer a free question from the transcript alone."""
    question = " ".join(answering_model().language_model.clean(question or "").split())
    if not question:
        raise EmptyQuestionError("The question is empty.")
    return _run(cache, QUESTION, transcript, question, **options)
