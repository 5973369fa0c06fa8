"""Raw API calls checked before Gradio sees them, so a malformed one gets a clear answer, never a 500.

Gradio answers a call to an endpoint that does not exist with an internal error (500), and one with
too few inputs with ``{"error": null}`` (its message hidden, as ``show_error`` is off so that no
traceback reaches a browser). This middleware answers both itself, with what is wrong and where the
endpoints are listed; it fills a page-only input (a ``gr.State``, which API callers cannot send) with
nothing, as Gradio's ``/call`` route already does.
"""

from __future__ import annotations

import inspect
import json
import re

from starlette.requests import Request
from starlette.responses import JSONResponse

MAX_CALL_BYTES = 16 * 1024 * 1024  # a call carries text and file references, never the files themselves
_NAMED = re.compile(r"^/gradio_api/(?:run|api|call(?:/v2)?)/(?P<name>[^/]+)/?$")
_JOIN = "/gradio_api/queue/join"
INFO = "/gradio_api/info"


class ApiCalls:
    """ASGI middleware: refuse (404) calls naming no endpoint and (422) calls with too few inputs."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        named = _NAMED.match(path)
        if (scope["type"] != "http" or scope.get("method") != "POST" or not (named or path.rstrip("/") == _JOIN)
                or not _logged_in(scope)):  # Gradio answers 401: no endpoint's inputs are told to a stranger
            await self.app(scope, receive, send)
            return
        body, complete = await _read(receive)
        if not complete:
            await _refuse(scope, send, 413, f"A call may carry at most {MAX_CALL_BYTES // 2**20} MB.")
            return
        try:
            call = json.loads(body)
        except ValueError:
            call = None
        if not isinstance(call, dict) or not isinstance(call.get("data", []), list):
            await self.app(scope, _replaying(body, receive), send)  # Gradio's own validation answers (422)
            return
        fn = _endpoint(scope, named.group("name") if named else None, call.get("fn_index"))
        if fn is None:
            await _refuse(scope, send, 404, f"There is no such endpoint; the endpoints are listed at {INFO}.")
            return
        data, problem = _filled(fn, call.setdefault("data", []))
        if problem:
            await _refuse(scope, send, 422, problem)
            return
        if data is not call.get("data"):
            body = json.dumps({**call, "data": data}).encode()
            scope = _with_length(scope, body)
        await self.app(scope, _replaying(body, receive), send)


def _logged_in(scope) -> bool:
    """Whether the caller may call at all: no login is asked for, or its login cookie is Gradio's own. A custom
    ``auth_dependency`` is left to Gradio (False)."""
    app = scope.get("app")
    if getattr(app, "auth_dependency", None) is not None:
        return False
    if not getattr(app, "auth", None):
        return True
    cookies, cookie_id = Request(scope).cookies, getattr(app, "cookie_id", "")
    token = cookies.get(f"access-token-{cookie_id}") or cookies.get(f"access-token-unsecure-{cookie_id}")
    return getattr(app, "tokens", {}).get(token) is not None


def _endpoint(scope, api_name: str | None, fn_index):
    """The Gradio function a call names (by API name, or by index for the queue), or None."""
    try:
        fns = scope["app"].get_blocks().fns
    except (KeyError, AttributeError):
        return None
    # The page posts its unqueued events to /run/predict with their index: as in Gradio's own lookup, an index
    # wins over the name in the path ("predict" names no endpoint).
    if isinstance(fn_index, int):
        return fns.get(fn_index)
    if api_name is not None:
        return next((fn for fn in fns.values() if fn.api_name == api_name), None)
    return None


def _filled(fn, data: list) -> tuple[list, str | None]:
    """The call's inputs with the page-only ones (``skip_api``: a State) filled with None where the caller
    sent only the API's inputs; or a message saying which inputs the endpoint takes."""
    if len(data) >= len(fn.inputs):
        return data, None
    api_inputs = [block for block in fn.inputs if not getattr(block, "skip_api", False)]
    if len(data) == len(api_inputs):
        given = iter(data)
        return [None if getattr(block, "skip_api", False) else next(given) for block in fn.inputs], None
    names = ", ".join(_input_names(fn, api_inputs)) or "none"
    return data, (f"/{fn.api_name} takes {len(api_inputs)} input(s) ({names}), but the call sent {len(data)}. "
                  f"Each endpoint's inputs are listed at {INFO}.")


def _input_names(fn, blocks: list) -> list[str]:
    """Each input's label; a ``gr.api`` input has none (Gradio numbers them), so its parameter's name."""
    try:
        parameters = [name for name, p in inspect.signature(fn.fn).parameters.items()
                      if name != "request" and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        parameters = []
    return [parameters[i] if type(block).__name__ == "Api" and i < len(parameters)
            else getattr(block, "label", None) or type(block).__name__ for i, block in enumerate(blocks)]


async def _read(receive) -> tuple[bytes, bool]:
    """The request's body, and whether it was all read within :data:`MAX_CALL_BYTES`."""
    body = b""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return body, False
        body += message.get("body", b"")
        if len(body) > MAX_CALL_BYTES:
            return body, False
        if not message.get("more_body", False):
            return body, True


def _replaying(body: bytes, receive):
    """A ``receive`` that hands the body on in one piece, then waits on the connection as before."""
    sent = False

    async def replay():
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}
    return replay


def _with_length(scope, body: bytes) -> dict:
    headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"content-length"]
    return {**scope, "headers": headers + [(b"content-length", str(len(body)).encode())]}


async def _refuse(scope, send, status: int, message: str) -> None:
    async def nothing_more():
        return {"type": "http.disconnect"}
    await JSONResponse({"error": message}, status_code=status)(scope, nothing_more, send)
