"""One transcript type for both models: text, segments and (where known) words."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str
    estimated: bool = False  # True when the time was interpolated, not heard (see align.py)


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str


@dataclass
class Transcript:
    text: str
    segments: list[Segment] = field(default_factory=list)
    words: list[Word] = field(default_factory=list)
    model: str = ""
    duration: float = 0.0
    notes: list[str] = field(default_factory=list)  # what a person should know about how it was made

    def to_dict(self) -> dict:
        return asdict(self)
