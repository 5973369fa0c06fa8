"""One transcript type for both models: text, segments and (where known) words."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str


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

    def to_dict(self) -> dict:
        return asdict(self)
