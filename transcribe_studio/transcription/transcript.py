"""One transcript type for every model: text, segments and (where known) words, and who spoke.

Speakers (``--speakers``, :mod:`.speakers`) are stored as stable labels, "Speaker 1",
"Speaker 2", ..., on segments and words; ``speaker_names`` maps a label to the name a
person gave it ("Speaker 2" -> "Dana"). Writers show :meth:`Transcript.speaker_name`, so a
rename is one change that every export of the entry follows, and it can be undone.
"""

from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass, field

# A speaker's name: a person's name, with room to spare. Every segment and word of the exports carries it.
MAX_NAME_CHARS = 100


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str
    estimated: bool = False  # True when the time was interpolated, not heard (see align.py)
    speaker: str | None = None  # "Speaker 2"; None when speakers were not asked for


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str
    speaker: str | None = None


@dataclass(frozen=True)
class Skipped:
    """A stretch of the recording that no model heard, and why (see media/windows.py)."""
    start: float
    end: float
    why: str


@dataclass
class Transcript:
    text: str
    segments: list[Segment] = field(default_factory=list)
    words: list[Word] = field(default_factory=list)
    model: str = ""
    duration: float = 0.0
    notes: list[str] = field(default_factory=list)  # what a person should know about how it was made
    skipped: list[Skipped] = field(default_factory=list)  # stretches left out as silence
    speaker_names: dict[str, str] = field(default_factory=dict)  # label -> the name a person gave it
    # a timer model's pass for word times is still owed (a batch adds it at its end, see timings.py);
    # the state of a job, not part of the transcript, so never saved
    word_times_pending: bool = False

    @property
    def has_speakers(self) -> bool:
        return any(s.speaker for s in self.segments)

    def speaker_name(self, label: str | None) -> str | None:
        """What to show for a speaker label: the name given to it, else the label itself."""
        return self.speaker_names.get(label, label) if label else label

    def rename_speakers(self, names: dict[str, str]) -> None:
        """Give speakers names ({"Speaker 2": "Dana"}; an empty name restores the label).

        Raises ValueError for an unknown label, a name too long (every segment and word carries it) or with a
        control character, or two speakers given one name (the exports could then no longer tell them apart, nor
        History restore the labels).
        """
        labels = {s.speaker for s in self.segments if s.speaker}
        merged = dict(self.speaker_names)
        for label, name in names.items():
            if label not in labels:
                raise ValueError(f"There is no {label!r} in this transcript; its speakers are "
                                 f"{', '.join(sorted(labels)) or 'none'}.")
            name = " ".join(str(name).split())
            if len(name) > MAX_NAME_CHARS:
                raise ValueError(f"A speaker's name can be at most {MAX_NAME_CHARS} characters, not {len(name):,}.")
            if any(unicodedata.category(c) == "Cc" for c in name):
                raise ValueError(f"The name for {label} holds a control character, which the documents cannot hold.")
            if name and name != label:
                merged[label] = name
            else:
                merged.pop(label, None)
        shown = [merged.get(label, label) for label in labels]
        if len(set(shown)) != len(shown):
            raise ValueError("Two speakers cannot share one name.")
        self.speaker_names = merged

    def to_dict(self) -> dict:
        """Plain data; speaker fields appear only when speakers were labelled, ``estimated`` only when true."""
        data = asdict(self)
        del data["word_times_pending"]
        for item in data["segments"] + data["words"]:
            if item["speaker"] is None:
                del item["speaker"]
        for word in data["words"]:
            if not word["estimated"]:
                del word["estimated"]
        if not data["speaker_names"]:
            del data["speaker_names"]
        return data
