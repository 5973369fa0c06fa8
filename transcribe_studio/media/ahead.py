"""Files prepared ahead on CPU threads while the model works, a bounded number at a time.

Decoding (and voice detection, to cut a long file into windows) runs on the CPU while the model is busy with
the files before, so the model never waits for them; but a folder of 2,000 memos must not be held in memory
at once, so at most ``most_held`` files are being prepared or ready and not yet taken, and no more are started
while those ready hold ``most_seconds`` of audio.
"""

from __future__ import annotations

import collections
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Iterator, Sequence, TypeVar

Item = TypeVar("Item")
Ready = TypeVar("Ready")


def prepared_ahead(items: Sequence[Item], prepare: Callable[[Item], Ready], *, most_held: int, most_seconds: float,
                   seconds_of: Callable[[Ready], float], threads: int) -> Iterator[tuple[Item, Ready | Exception]]:
    """``(item, prepare(item))`` in the order of ``items``, or ``(item, the exception it raised)``.

    ``seconds_of(ready)``: how much audio a prepared item holds. Items still waiting when the caller stops
    are never prepared; those being prepared finish on their threads and are dropped. ``threads=0``: each
    item is prepared when it is asked for, on the caller's thread.
    """
    if threads < 1:
        yield from ((item, _prepared_now(prepare, item)) for item in items)
        return
    pending: collections.deque[tuple[Item, Future]] = collections.deque()
    upcoming = iter(items)
    pool = ThreadPoolExecutor(threads, thread_name_prefix="prepare")
    try:
        for item in upcoming:
            while pending and not _room(pending, most_held, most_seconds, seconds_of):
                yield _taken(pending)
            pending.append((item, pool.submit(prepare, item)))
        while pending:
            yield _taken(pending)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _prepared_now(prepare, item):
    try:
        return prepare(item)
    except Exception as exc:  # noqa: BLE001 - handed to the caller, who reports it for this item only
        return exc


def _room(pending, most_held: int, most_seconds: float, seconds_of) -> bool:
    """Whether one more item may start: fewer than ``most_held`` under way, and the ready ones under the seconds."""
    if len(pending) >= most_held:
        return False
    ready = [future.result() for _, future in pending if future.done() and future.exception() is None]
    return sum(seconds_of(r) for r in ready) < most_seconds


def _taken(pending) -> tuple:
    item, future = pending.popleft()
    try:
        return item, future.result()
    except Exception as exc:  # noqa: BLE001 - handed to the caller, who reports it for this item only
        return item, exc
