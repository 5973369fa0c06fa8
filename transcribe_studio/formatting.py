"""How times and sizes read, everywhere a person sees them.

Every clock-style time is rounded to its last shown digit first and only then split into hours, minutes and
seconds: splitting first and rounding the seconds after would turn 479.9996 s into "7:60.000".
"""

from __future__ import annotations


def clock_parts(milliseconds: int) -> tuple[int, int, int, int]:
    """Whole milliseconds as (hours, minutes, seconds, milliseconds); negative counts as 0."""
    hours, rest = divmod(max(int(milliseconds), 0), 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, rest = divmod(rest, 1000)
    return hours, minutes, seconds, rest


def clock(seconds: float) -> str:
    """A position in a recording: ``1:03.250``, or ``1:02:03.250`` past an hour."""
    hours, minutes, secs, ms = clock_parts(round(max(seconds, 0.0) * 1000))
    return f"{hours}:{minutes:02d}:{secs:02d}.{ms:03d}" if hours else f"{minutes}:{secs:02d}.{ms:03d}"


def duration_text(seconds: float) -> str:
    """A length: ``42.0 s``, ``3 min 07 s``, ``1 h 02 min 03 s``."""
    seconds = max(seconds, 0.0)
    if round(seconds, 1) < 60:
        return f"{seconds:.1f} s"
    hours, minutes, secs, _ = clock_parts(round(seconds) * 1000)
    return f"{hours} h {minutes:02d} min {secs:02d} s" if hours else f"{minutes} min {secs:02d} s"


def size_text(size: float) -> str:
    """A size in bytes: ``2.47 GB``, ``470.1 MB``, ``12.0 kB``, ``10 bytes``."""
    for unit, scale, places in (("GB", 1e9, 2), ("MB", 1e6, 1), ("kB", 1e3, 1)):
        if round(size / scale, places) >= 1:  # 999,960 bytes is "1.0 MB", not "1000.0 kB"
            return f"{size / scale:.{places}f} {unit}"
    return f"{int(size)} bytes"
