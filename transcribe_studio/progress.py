"""How long work reports how far it is, and how it is stopped.

Every step the app controls (decoding, voice detection, each model pass and
window) calls a :data:`Progress` callback; a callback that raises
:class:`Cancelled` stops the job there. A single model call in flight cannot be
interrupted: it finishes first.

The transcript so far (after each model pass or window) goes to whoever
watches the job through :func:`show_partial`: a context variable set by the job
runner (:func:`partial_to`), so the models need not thread one more callback
through every layer; without a watcher it is a no-op.
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Callable, Iterator

# progress(fraction of this file done, what is happening now)
Progress = Callable[[float, str], None]

_partial_sink: contextvars.ContextVar[Callable[[str], None] | None] = contextvars.ContextVar(
    "studio_partial_sink", default=None)




def no_progress(fraction: float, note: str) -> None:
    """The callback for callers that do not watch."""


def show_partial(text: str) -> None:
    """Hand the transcript so far of the file in progress to the job's watcher, if any."""
    sink = _partial_sink.get()
    if sink is not None:
        sink(text)


@contextlib.contextmanager
def partial_to(sink: Callable[[str], None]) -> Iterator[None]:
    """Within this block (on this thread), :func:`show_partial` calls ``sink``."""
    token = _partial_sink.set(sink)
    try:
        yield
    finally:
        _partial_sink.reset(token)
