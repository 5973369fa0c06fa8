"""How long work reports how far it is, and how it is stopped.

Every step the app controls (decoding, voice detection, each model pass and
window) calls a :data:`Progress` callback; a callback that raises
:class:`Cancelled` stops the job there. A single model call in flight cannot be
interrupted: it finishes first.
"""

from __future__ import annotations

from typing import Callable

# progress(fraction of this file done, what is happening now)
Progress = Callable[[float, str], None]


class Cancelled(Exception):
    """Raised from a progress callback to stop a job; files already finished stay saved."""


def no_progress(fraction: float, note: str) -> None:
    """The callback for callers that do not watch."""
