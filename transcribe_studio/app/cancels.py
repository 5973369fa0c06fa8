"""Telling an explicit cancel from a client that went away.

Gradio closes a running handler's generator in both cases: for a ``/cancel``
request (the page's Stop, gradio_client's ``Job.cancel()``) and when the client's
connection is gone (a reload, a closed tab). The studio must treat them apart: a
cancel stops the job, a reload must not. Gradio's event ``alive`` flag tells them
apart only until the client hangs up right after its cancel, which under load
can come first, and Gradio may cancel the task without ever closing the generator.
So this small ASGI middleware reads the ``event_id`` of every ``/cancel`` request
before Gradio acts on it: a handler watching a job for that event registered a
callback with :func:`watch`, which cancels the job at once; the id is also
remembered for :func:`was_cancelled`. A ``/cancel`` is refused unless it comes from
the page session (and, with logins, the login) that started the event (:func:`_refusal`).
"""

from __future__ import annotations

import contextlib
import json
import threading
from typing import Callable

from starlette.responses import PlainTextResponse

from .guard import login_of, read_body, replaying

ROUTES = ("/gradio_api/cancel", "/cancel")  # Gradio's own; the app's Cancel button is another event
_MAX_BODY = 64 * 1024
_MAX_REMEMBERED = 1000
_cancelled: dict[str, None] = {}  # insertion-ordered: the oldest are forgotten first
_watchers: dict[str, Callable[[], None]] = {}
_lock = threading.Lock()


@contextlib.contextmanager
def watch(event_id: str | None, on_cancel: Callable[[], None]):
    """While the block runs, a ``/cancel`` naming ``event_id`` calls ``on_cancel``."""
    if event_id:
        with _lock:
            _watchers[event_id] = on_cancel
    try:
        yield
    finally:
        if event_id:
            with _lock:
                _watchers.pop(event_id, None)


def remember(event_id: str) -> None:
    """Note a ``/cancel`` for ``event_id`` and tell its watcher, if one is registered."""
    with _lock:
        _cancelled[event_id] = None
        while len(_cancelled) > _MAX_REMEMBERED:
            _cancelled.pop(next(iter(_cancelled)))
        on_cancel = _watchers.get(event_id)
    if on_cancel is not None:
        on_cancel()


def was_cancelled(event_id: str | None) -> bool:
    """Whether a ``/cancel`` request named this event (forgotten once asked)."""
    if not event_id:
        return False
    with _lock:
        return _cancelled.pop(event_id, 0) is None


class CancelRecorder:
    """ASGI middleware: remember the event of each ``POST .../cancel``, then pass the request on unchanged."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "POST" or scope.get("path", "").rstrip("/") not in ROUTES:
            return await self.app(scope, receive, send)
        messages, body, _ = await read_body(receive, _MAX_BODY)
        replay = replaying(messages, receive)
        try:
            asked = json.loads(body)
            event_id = asked.get("event_id")
        except (ValueError, AttributeError):
            asked = event_id = None  # not ours to judge: Gradio answers a malformed cancel itself
        refusal = _refusal(scope, asked)
        if refusal is not None:
            await PlainTextResponse(refusal[1], status_code=refusal[0])(scope, replay, send)
            return
        if isinstance(event_id, str):
            remember(event_id)
        await self.app(scope, replay, send)


def _refusal(scope, asked) -> tuple[int, str] | None:
    """Why a ``/cancel`` is refused, or None. Only the page session that started an event may cancel it:
    Gradio's own route checks nothing, and a cancel naming a running event from another session stops the
    job and then starts it again from scratch. With logins, the route asks for none, so it must also come
    from the login that started the event."""
    app = scope.get("app")
    logins = bool(getattr(app, "auth", None))
    login = login_of(scope)
    if logins and login is None:
        return 401, "Log in first."
    try:
        event = app.get_blocks()._queue.event_ids_to_events.get(asked.get("event_id"))
    except (AttributeError, TypeError):  # Gradio's internals moved, or a malformed body
        event = None
    if event is None:
        return (403, NOT_YOURS) if logins else None  # without logins: nothing running to harm
    if event.session_hash != asked.get("session_hash") or (logins and event.username != login):
        return 403, NOT_YOURS
    return None


NOT_YOURS = "There is no job of yours with that id to cancel."
