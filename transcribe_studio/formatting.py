"""How times and sizes read, everywhere a person sees them."""

from __future__ import annotations


def clock(seconds: float) -> str:
    """A position in a recording: ``1:03.250``, or ``1:02:03.250`` past an hour."""
    minutes, secs = divmod(max(seconds, 0.0), 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{secs:06.3f}" if hours else f"{minutes}:{secs:06.3f}"


def duration_text(seconds: float) -> str:
    """A length: ``42.0 s``, ``3 min 07 s``, ``1 h 02 min 03 s``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min {secs:02d} s" if hours else f"{minutes} min {secs:02d} s"


def size_text(size: float) -> str:
    """A size in bytes: ``2.47 GB``, ``470.1 MB``, ``12.0 kB``, ``10 bytes``."""
    for unit, scale, places in (("GB", 1e9, 2), ("MB", 1e6, 1), ("kB", 1e3, 1)):
        if size >= scale:
            return f"{size / scale:.{places}f} {unit}"
    return f"{int(size)} bytes"
