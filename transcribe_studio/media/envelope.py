"""A recording's envelope: how loud it is along its length, in a fixed number of columns, for a picture of it.

The page draws the waveform above the transcript, and a two-hour recording must cost the page no more than a
ten-second one: so what goes to the page is :data:`COLUMNS` numbers whatever the length (the loudest sample of
each column, as 0..:data:`LEVELS` of full scale), never the samples.

* **Bounded memory.** The audio is read as it decodes (:func:`.decode.decode_chunks`), in batches of about a
  second. The length is not known until the end (a header may not say it, or lie), so the loudest sample is kept
  per *block* of samples, at most ``2 * COLUMNS * BLOCKS_PER_COLUMN`` blocks: when they fill up, neighbouring
  pairs merge into blocks twice as long. Any length ends with 8 to 16 blocks a column (under 10 s: blocks of
  1 ms), so a column's edges are placed to within an eighth of its width, in under 200 kB of memory.
* **Decoded once per History entry.** :func:`cached_envelope` keeps the envelope of an entry's audio copy in the
  hidden ``.envelope.json`` beside it (hidden names are never listed, served or zipped by History), tied to the
  copy's size and modification time, so opening the entry again reads a few kB instead of decoding hours.
* **A picture is a nicety.** An audio copy that cannot be decoded gives None (logged, and remembered in the
  cache so it is not decoded again on every open), never an error on the page.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import BadAudioError
from ..files import atomic_write_text
from . import SAMPLE_RATE
from .decode import decode_chunks

log = logging.getLogger(__name__)

COLUMNS = 1200  # about one per pixel of a wide page: finer is invisible, and each one travels to the page
LEVELS = 255  # a column's peak as a whole number of 1/255ths of full scale: three digits at most in JSON
CACHE_NAME = ".envelope.json"
MIN_DURATION_S, MAX_DURATION_S = 1e-3, 7 * 24 * 3600.0  # what a cache may say (a hand-edited one: computed again)
_CACHE_FORMAT = 1  # a cache of another format (or none) is computed again
BLOCKS_PER_COLUMN = 8  # the fewest blocks a column spans once the length is known (see the module docstring)
_FIRST_BLOCK = 16  # samples (1 ms): the finest block, for recordings under a few seconds
_BATCH = SAMPLE_RATE  # decoded chunks are tens of ms; numpy works on about a second at a time


@dataclass(frozen=True)
class Envelope:
    peaks: tuple[int, ...]  # per column, the loudest |sample| in it, as 0..LEVELS of full scale
    duration: float          # seconds of audio the columns span, evenly

    def to_dict(self) -> dict:
        return {"duration": self.duration, "peaks": list(self.peaks)}


class _Peaks:
    """The loudest |sample| per block of a recording of unknown length, in a fixed amount of memory."""

    def __init__(self, columns: int):
        self.blocks = np.zeros(2 * columns * BLOCKS_PER_COLUMN, dtype=np.float32)  # even: pairs always merge
        self.count = 0        # blocks filled
        self.block = _FIRST_BLOCK  # samples per block
        self.samples = 0      # samples seen
        self._pending: list[np.ndarray] = []
        self._pending_size = 0

    def add(self, chunk: np.ndarray) -> None:
        self._pending.append(chunk)
        self._pending_size += len(chunk)
        self.samples += len(chunk)
        if self._pending_size >= _BATCH:
            self._take(np.concatenate(self._pending))

    def _take(self, batch: np.ndarray) -> None:
        """Whole blocks of ``batch`` into :attr:`blocks`; the part of a block left over waits for the next batch."""
        while len(batch) >= self.block:
            take = min(len(batch) // self.block, len(self.blocks) - self.count)
            peaks = np.abs(batch[:take * self.block]).reshape(take, self.block).max(axis=1)
            self.blocks[self.count:self.count + take] = np.nan_to_num(peaks, nan=0.0, posinf=1.0)
            self.count += take
            batch = batch[take * self.block:]
            if self.count == len(self.blocks):  # full: halve the count, double the length
                self.blocks[:self.count // 2] = self.blocks[:self.count].reshape(-1, 2).max(axis=1)
                self.count //= 2
                self.blocks[self.count:] = 0.0
                self.block *= 2
        self._pending, self._pending_size = [batch], len(batch)

    def columns(self, columns: int) -> tuple[int, ...]:
        """The loudest block overlapping each of ``columns`` equal stretches of the recording, quantised."""
        if self._pending:
            self._take(np.concatenate(self._pending))
        rest = self._pending[0]
        blocks = self.blocks[:self.count]
        if len(rest):  # the last, shorter block
            last = float(np.nan_to_num(np.abs(rest).max(), nan=0.0, posinf=1.0))
            blocks = np.append(blocks, np.float32(last))
        if not len(blocks):
            return (0,) * columns
        per_column = self.samples / self.block / columns  # blocks a column spans (a fraction)
        starts = [min(int(i * per_column), len(blocks) - 1) for i in range(columns)]
        ends = [max(math.ceil((i + 1) * per_column), start + 1) for i, start in enumerate(starts)]
        loudest = np.array([blocks[s:e].max() for s, e in zip(starts, ends)], dtype=np.float64)
        return tuple(int(v) for v in np.clip(np.ceil(loudest * LEVELS - 1e-6), 0, LEVELS))


def envelope(path: str | os.PathLike, columns: int = COLUMNS) -> Envelope:
    """The envelope of the audio in ``path``, decoded as it is read (see the module docstring).

    Raises :class:`BadAudioError` for a file that cannot be decoded whole, ``OSError`` for one that cannot be read.
    """
    peaks = _Peaks(columns)
    for chunk in decode_chunks(path, SAMPLE_RATE):
        peaks.add(chunk)
    return Envelope(peaks.columns(columns), peaks.samples / SAMPLE_RATE)


def cached_envelope(audio: str | os.PathLike, columns: int = COLUMNS) -> Envelope | None:
    """The envelope of a History entry's audio copy, decoded once and kept as ``.envelope.json`` beside it;
    None (logged) when the copy cannot be read or decoded."""
    audio = Path(audio)
    cache = audio.parent / CACHE_NAME
    try:
        key = _key(audio, columns)
    except OSError as exc:
        log.warning("No waveform for %s: %s", audio, exc)
        return None
    known, kept = _read_cache(cache, key)
    if known:
        return kept
    try:
        computed: Envelope | None = envelope(audio, columns)
        record = {"key": key, **computed.to_dict()}
    except BadAudioError as exc:  # the copy itself is bad: remembered, so it is not decoded on every open
        log.warning("No waveform for %s: %s", audio, exc)
        computed, record = None, {"key": key, "error": str(exc)}
    except OSError as exc:  # unreadable now (permissions, a disk gone): perhaps not later, so not remembered
        log.warning("No waveform for %s: %s", audio, exc)
        return None
    try:
        atomic_write_text(cache, json.dumps({"format": _CACHE_FORMAT, **record}, separators=(",", ":")))
    except OSError as exc:  # a read-only or full disk: the picture is still drawn, the decode repeats next time
        log.warning("Could not keep the waveform of %s: %s", audio, exc)
    return computed


def _key(audio: Path, columns: int) -> dict:
    """What ties a cache to one audio copy: a copy swapped in (a new size or time) is decoded again."""
    stat = audio.stat()
    return {"name": audio.name, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "columns": columns}


def _read_cache(cache: Path, key: dict) -> tuple[bool, Envelope | None]:
    """Whether the cache is of this copy, and its envelope (None for a copy known not to decode)."""
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
        if data.get("format") != _CACHE_FORMAT or data.get("key") != key:
            return False, None
        if "error" in data:
            return True, None
        peaks = tuple(int(p) for p in data["peaks"])
        if len(peaks) != key["columns"] or not all(0 <= p <= LEVELS for p in peaks):
            raise ValueError(f"{len(peaks)} peaks, or one out of range")
        duration = float(data["duration"])
        if not MIN_DURATION_S <= duration <= MAX_DURATION_S:  # NaN too
            raise ValueError(f"a duration of {duration} s")
        return True, Envelope(peaks, duration)
    except FileNotFoundError:
        return False, None
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:  # damaged: computed again
        log.info("Computing the waveform again: %s is unreadable (%s)", cache, exc)
        return False, None
