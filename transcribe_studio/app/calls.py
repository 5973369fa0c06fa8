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

from starlette.responses import JSONResponse

from .guard import login_of, read_body, replaying

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
                or (getattr(scope.get("app"), "auth", None) and login_of(scope) is None)):
            await self.app(scope, receive, send)  # not a call, or not logged in: Gradio answers (401)
            return
        _, body, complete = await read_body(receive, MAX_CALL_BYTES)
        if not complete:
            await _refuse(scope, send, 413, f"A call may carry at most {MAX_CALL_BYTES // 2**20} MB.")
            return
        try:
            call = json.loads(body)
        except ValueError:
            call = None
        if not isinstance(call, dict) or not isinstance(call.get("data", []), list):
            await self.app(scope, replaying([_whole(body)], receive), send)  # Gradio's own validation answers (422)
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
        await self.app(scope, replaying([_whole(body)], receive), send)


def _endpoint(scope, api_name: str | None, fn_index):
    """The Gradio function a call names, or None. The page names its events by index (``/run/predict``,
    the queue), as Gradio resolves them first; a name must be a public endpoint's: the page's own
    (``api_name=False``) events take the page's inputs, which a raw call cannot be trusted to send."""
    try:
        fns = scope["app"].get_blocks().fns
    except (KeyError, AttributeError):
        return None
    if fn_index is not None:
        return fns.get(fn_index) if isinstance(fn_index, int) else None
    fn = next((fn for fn in fns.values() if fn.api_name == api_name), None)
    return fn if fn is not None and getattr(fn, "api_visibility", "public") != "private" else None


def _filled(fn, data: list) -> tuple[list, str | None]:
    """The call's inputs, where the caller sent only the API's: the page-only ones (``skip_api``: a State)
    filled with None, and missing trailing ones with their documented defaults (the component's initial
    value, as ``/gradio_api/info`` lists it); or a message saying which inputs the endpoint takes."""
    if len(data) >= len(fn.inputs):
        return data, None
    page_only = [getattr(block, "skip_api", False) for block in fn.inputs]
    api_inputs = [block for block, skip in zip(fn.inputs, page_only) if not skip]
    missing = api_inputs[len(data):]
    if len(data) > len(api_inputs) or any(getattr(block, "value", None) is None for block in missing):
        names = ", ".join(_input_names(fn, api_inputs)) or "none"
        return data, (f"/{fn.api_name} takes {len(api_inputs)} input(s) ({names}), but the call sent {len(data)}. "
                      f"Each endpoint's inputs are listed at {INFO}.")
    given = iter([*data, *(block.value for block in missing)])
    return [None if skip else next(given) for skip in page_only], None


def _input_names(fn, blocks: list) -> list[str]:
    """Each input's label; a ``gr.api`` input has none (Gradio numbers them), so its parameter's name."""
    try:
        parameters = [name for name, p in inspect.signature(fn.fn).parameters.items()
                      if name != "request" and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        parameters = []
    return [parameters[i] if type(block).__name__ == "Api" and i < len(parameters)
            else getattr(block, "label", None) or type(block).__name__ for i, block in enumerate(blocks)]


def _whole(body: bytes) -> dict:
    """The body as one ASGI message (as read, or rewritten with the inputs filled)."""
    return {"type": "http.request", "body": body, "more_body": False}


def _with_length(scope, body: bytes) -> dict:
    headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"content-length"]
    return {**scope, "headers": headers + [(b"content-length", str(len(body)).encode())]}


async def _refuse(scope, send, status: int, message: str) -> None:
    async def nothing_more():
        return {"type": "http.disconnect"}
    await JSONResponse({"error": message}, status_code=status)(scope, nothing_more, send)
