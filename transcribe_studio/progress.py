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
_expectation_sink: contextvars.ContextVar[Callable[[float], None] | None] = contextvars.ContextVar(
    "studio_expectation_sink", default=None)




def no_progress(fraction: float, note: str) -> None:
    """The callback for callers that do not watch."""


def show_partial(text: str) -> None:
    """Hand the transcript so far of the file in progress to the job's watcher, if any."""
    sink = _partial_sink.get()
    if sink is not None:
        sink(text)


def expect_seconds(seconds: float) -> None:
    """Tell the job's watcher how long the work should take (before any of it is measured), if any watches."""
    sink = _expectation_sink.get()
    if sink is not None:
        sink(seconds)


@contextlib.contextmanager
def partial_to(sink: Callable[[str], None], expectation: Callable[[float], None] | None = None) -> Iterator[None]:
    """Within this block (on this thread), :func:`show_partial` calls ``sink`` (and :func:`expect_seconds`,
    ``expectation``)."""
    token, expected = _partial_sink.set(sink), _expectation_sink.set(expectation)
    try:
        yield
    finally:
        _partial_sink.reset(token)
        _expectation_sink.reset(expected)


def staged(progress: Progress, shares: dict[str, float]) -> Callable[[str], Progress]:
    """A file's work in stages, each a share of it (in order, adding up to 1): ``stage(name)`` is the progress
    callback of that stage, whose own 0 to 1 becomes its share of the file, so the file's progress follows the
    work. A stage not in ``shares`` reports only what it is doing."""
    starts, total = {}, 0.0
    for name, share in shares.items():
        starts[name], total = total, total + share

    def stage(name: str) -> Progress:
        if name not in starts:
            return lambda fraction, note: progress(0.0, note)
        start, share = starts[name], shares[name]
        return lambda fraction, note: progress(start + share * min(max(fraction, 0.0), 1.0), note)
    return stage
