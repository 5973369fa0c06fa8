"""Who said what: the diarizer's speaker turns laid onto a transcript.

The diarizer (a spec with ``diarize``, under ``models/``) runs on the same 16 kHz audio the
transcript was made from and says when each of its speaker slots was talking.
Here that becomes labels on the transcript:

* **Each word** goes to the speaker most active over the word's time span (the
  most overlap); a word in a gap between turns goes to the nearest turn.
* **Segments are split** where the speaker changes between words, so every
  segment (and so every subtitle cue and TXT paragraph) has one speaker.
* **Labels** are "Speaker 1..N" in order of first appearance in the transcript,
  not the model's slot numbers: slots that never own a word get no label.
* **Without word times** (a model that gives none), each segment goes to the
  speaker most active over the segment, and the notes say so.

A diarizer that cannot load (file missing or damaged) must not cost the
transcript: :func:`label_transcript` then returns it unlabelled with a note,
and the error (classified) for the caller to show.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Iterable

import numpy as np

from ..classify import report
from ..errors import Cancelled, StudioError
from ..models import ModelCache, diarizers
from ..models.spec import SpeakerTurn
from ..progress import Progress, no_progress
from .transcript import Segment, Transcript, Word

log = logging.getLogger(__name__)

PER_SEGMENT_NOTE = ("Speakers were assigned per segment, because this model gives no word times: a segment in "
                    "which the speaker changes is labelled with whoever speaks most in it.")
NO_SPEECH_NOTE = "The speaker diarizer heard no speaker, so the transcript has no speaker labels."
UNLABELLED_NOTE = "No speaker labels: "  # then why the diarizer could not run
LIMIT_NOTE = "The speaker diarizer tells at most {count} speakers apart; with more, some are merged."


def label_transcript(cache: ModelCache, transcript: Transcript, audio: np.ndarray,
                     progress: Progress | None = None) -> tuple[Transcript, StudioError | None]:
    """``transcript`` with speakers from the diarizer on ``audio``, or unlabelled with a note and the error."""
    progress = progress or no_progress
    if not diarizers():
        return transcript, None
    spec = diarizers()[0]
    try:
        with cache.use(spec.key) as model:
            turns = spec.diarize(model, audio, cache.settings,
                                 lambda fraction, note: progress(fraction, f"{spec.label}: {note}"))
    except Cancelled:
        raise
    except StudioError as error:
        return _unlabelled(transcript, error), error
    except Exception as exc:  # noqa: BLE001 - classified; the transcript is kept without speakers
        error = report(exc, f"finding speakers with {spec.label}")
        return _unlabelled(transcript, error), error
    return assign_speakers(transcript, turns, spec.max_speakers), None


def _unlabelled(transcript: Transcript, error: StudioError) -> Transcript:
    transcript.notes.append(f"{UNLABELLED_NOTE}{error.user_message()}")
    return transcript


def assign_speakers(transcript: Transcript, turns: Iterable[SpeakerTurn], max_speakers: int = 0) -> Transcript:
    """The transcript with a speaker on every word and segment, segments split where the speaker changes;
    ``max_speakers``: how many the diarizer tells apart at most (reaching it, the notes say some may be merged)."""
    turns = sorted(turns, key=lambda t: (t.start, t.end, t.slot))
    if not turns:
        transcript.notes.append(NO_SPEECH_NOTE)
        return transcript
    words = [replace(w, speaker=_slot_label(_most_active(w.start, w.end, turns))) for w in transcript.words]
    starts = [w.start for w in words]
    segments: list[Segment] = []
    per_segment = False
    for segment in transcript.segments:
        own = _words_of(segment, words, starts)
        if own and _spells(own, segment.text):
            segments += _split(own)
        else:
            per_segment = True
            segments.append(replace(segment, speaker=_slot_label(_most_active(segment.start, segment.end, turns))))
    names = _numbering([s.speaker for s in segments])
    transcript.segments = [replace(s, speaker=names[s.speaker]) for s in segments]
    transcript.words = [replace(w, speaker=names.get(w.speaker)) for w in words]
    if per_segment and transcript.segments:
        transcript.notes.append(PER_SEGMENT_NOTE)
    if max_speakers and len(names) == max_speakers:
        transcript.notes.append(LIMIT_NOTE.format(count=max_speakers))
    return transcript


def _slot_label(slot: int) -> str:
    return f"slot {slot}"


def _most_active(start: float, end: float, turns: list[SpeakerTurn]) -> int:
    """The slot that talks most over [start, end]; with no overlap, the slot of the nearest turn."""
    overlap: dict[int, float] = {}
    for turn in turns:
        shared = min(end, turn.end) - max(start, turn.start)
        if shared > 0:
            overlap[turn.slot] = overlap.get(turn.slot, 0.0) + shared
    if overlap:
        return max(sorted(overlap), key=lambda slot: overlap[slot])
    middle = (start + end) / 2
    return min(turns, key=lambda t: (max(t.start - middle, middle - t.end, 0.0), t.slot)).slot


def _words_of(segment: Segment, words: list[Word], starts: list[float]) -> list[Word]:
    """The words whose middle lies inside the segment."""
    import bisect

    lo = bisect.bisect_left(starts, segment.start - 1.0)
    hi = bisect.bisect_right(starts, segment.end)
    return [w for w in words[lo:hi] if segment.start <= (w.start + w.end) / 2 <= segment.end + 1e-6]


def _spells(words: list[Word], text: str) -> bool:
    return "".join("".join(w.text for w in words).split()) == "".join(text.split())


def _split(words: list[Word]) -> list[Segment]:
    """One segment per run of words with the same speaker."""
    runs: list[list[Word]] = []
    for word in words:
        if runs and runs[-1][-1].speaker == word.speaker:
            runs[-1].append(word)
        else:
            runs.append([word])
    return [Segment(run[0].start, run[-1].end, " ".join(w.text.strip() for w in run), run[0].speaker)
            for run in runs]


def _numbering(slots: list[str | None]) -> dict[str, str]:
    """Slot labels -> "Speaker 1..N", in order of first appearance."""
    names: dict[str, str] = {}
    for slot in slots:
        if slot is not None and slot not in names:
            names[slot] = f"Speaker {len(names) + 1}"
    return names
