"""One transcript type for every model: text, segments and (where known) words, and who spoke.

Speakers (``--speakers``, :mod:`.speakers`) are stored as stable labels, "Speaker 1",
"Speaker 2", ..., on segments and words; ``speaker_names`` maps a label to the name a
person gave it ("Speaker 2" -> "Dana"). Writers show :meth:`Transcript.speaker_name`, so a
rename is one change that every export of the entry follows, and it can be undone.
"""

from __future__ import annotations

import bisect
import unicodedata
from dataclasses import asdict, dataclass, field

# A speaker's name: a person's name, with room to spare. Every segment and word of the exports carries it.
MAX_NAME_CHARS = 100


def speaker_order(label: str) -> tuple:
    """Sorts speaker labels by their number ("Speaker 2" before "Speaker 10"), others after them."""
    number = label.rpartition(" ")[2]
    return (0, int(number), label) if number.isdigit() else (1, 0, label)


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str
    estimated: bool = False  # True when the time was interpolated, not heard (see align.py)
    speaker: str | None = None  # "Speaker 2"; None when speakers were not asked for
    confidence: float | None = None  # how sure the model was of the word, in [0, 1]; None where it gives none
    edited: bool = False  # a person wrote it (an edit or a replace): checked, never a word to check again


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
    language: str = ""  # ISO 639-1 code of the text ("de"); "" when it could not be told (language.py)
    # a timer model's pass for word times is still owed (a batch adds it at its end, see timings.py);
    # the state of a job, not part of the transcript, so never saved
    word_times_pending: bool = False
    translated_from: str = ""  # the recording's language when the text is a translation of it ("de"); else ""

    @property
    def has_speakers(self) -> bool:
        return any(s.speaker for s in self.segments)

    def speaker_name(self, label: str | None) -> str | None:
        """What to show for a speaker label: the name given to it, else the label itself."""
        return self.speaker_names.get(label, label) if label else label

    @property
    def speaker_labels(self) -> list[str]:
        """The labels of the speakers in the segments, in order: "Speaker 2" before "Speaker 10"."""
        return sorted({s.speaker for s in self.segments if s.speaker}, key=speaker_order)

    def rename_speakers(self, names: dict[str, str]) -> None:
        """Give speakers names ({"Speaker 2": "Dana"}; an empty name restores the label). A speaker may be
        given by its label or by the name it has now, in any case ("speaker 2", "dana").

        Raises ValueError, changing nothing, for unknown speakers (naming each, and the speakers there are), a
        name too long (every segment and word carries it) or with a control character, or two speakers given one
        name (the exports could then no longer tell them apart, nor History restore the labels).
        """
        labels = self.speaker_labels
        found = {given: self._label_of(given, labels) for given in names}
        unknown = [given for given, label in found.items() if label is None]
        if unknown:
            raise ValueError(self._unknown_speakers(unknown, [g for g in names if g not in unknown], labels))
        merged = dict(self.speaker_names)
        for given, name in names.items():
            label = found[given]
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

    def _label_of(self, given: str, labels: list[str]) -> str | None:
        """The label a person meant: the label itself, else the one label or current name that matches in any
        case; None for none (or two names differing only in case)."""
        if given in labels:
            return given
        key = given.casefold()
        matches = ([label for label in labels if label.casefold() == key]
                   or [label for label in labels if self.speaker_names.get(label, "").casefold() == key])
        return matches[0] if len(matches) == 1 else None

    def _unknown_speakers(self, unknown: list[str], fine: list[str], labels: list[str]) -> str:
        """Which speakers are not in the transcript, that nothing was renamed, which were fine, and which exist."""
        def quoted(items: list[str]) -> str:
            return ", ".join(f'"{item}"' for item in items)
        known = ", ".join(f"{label} (now {self.speaker_names[label]})" if label in self.speaker_names else label
                          for label in labels) or "none: it has no speaker labels"
        others = f" {quoted(fine)} {'were' if len(fine) > 1 else 'was'} fine." if fine else ""
        return (f"This transcript has no speaker{'s' if len(unknown) > 1 else ''} {quoted(unknown)}, so nothing "
                f"was renamed.{others} Its speakers are {known}.")

    def words_by_segment(self) -> list[list[Word]]:
        """Each segment's words: a word belongs to the last segment that starts by its midpoint."""
        starts = [s.start for s in self.segments]
        found: list[list[Word]] = [[] for _ in starts]
        for word in self.words:
            index = bisect.bisect_right(starts, (word.start + word.end) / 2) - 1
            if starts:
                found[max(index, 0)].append(word)
        return found

    def to_dict(self) -> dict:
        """Plain data; speaker fields appear only when speakers were labelled, ``estimated`` and ``edited`` only
        when true, ``confidence`` only where the model gave one."""
        data = asdict(self)
        del data["word_times_pending"]
        for item in data["segments"] + data["words"]:
            if item["speaker"] is None:
                del item["speaker"]
        for word in data["words"]:
            for flag in ("estimated", "edited"):
                if not word[flag]:
                    del word[flag]
            if word["confidence"] is None:
                del word["confidence"]
            else:
                word["confidence"] = round(word["confidence"], 4)
        if not data["speaker_names"]:
            del data["speaker_names"]
        for key in ("language", "translated_from"):
            if not data[key]:
                del data[key]
        return data
