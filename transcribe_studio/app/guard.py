"""What stands between the network and Gradio: the Host check, the Origin check and the login back-off.

* **DNS rebinding.** Any web page the user visits can point its own name at
  127.0.0.1 and then read the studio as if it were that site. The browser still
  sends the page's name in ``Host``, so requests whose ``Host`` is not one of
  the names the studio is really reached by are refused (Starlette's
  ``TrustedHostMiddleware``, 400) before Gradio sees them.
* **Other sites' pages.** A page on another origin may not read the answers
  (Gradio's CORS), but a browser still *sends* its form posts and uploads.
  Requests that carry an ``Origin`` naming another site are refused (403). A
  page on another port of this machine (another local web app, a dev server)
  is another site too, as browsers count origins.
* **What History serves.** Gradio serves any file under its allowed paths
  (History is one) inline, with the type its name suggests, to any login. So a
  file there is served only to the login whose History holds it, only if its
  type is one History writes (the export formats, a zip, a kept audio copy),
  never a hidden one (the model's original transcript), and never sniffed into
  another type (:class:`HistoryFiles`).
* **Guessing logins.** Gradio's ``auth`` callable is not told who is asking, so
  the back-off is a middleware on the login route: after a few wrong logins
  from one client address, its next tries wait, twice as long each time.

Gradio 6.31 builds a new app in ``launch()``: these reach it only through
``launch(app_kwargs={"middleware": ...})`` (see :func:`middleware`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import socket
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

from starlette._utils import parse_host_header
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse

from ..media import MEDIA_EXTENSIONS
from ..outputs.history import DOWNLOADS
from ..outputs.writers import FORMATS
from .access import Access
from .histories import Histories

# What History writes: its exports, "Download all" zips, and kept audio (.bin: an input of another type).
HISTORY_TYPES = {f".{name}" for name in FORMATS} | {".zip", ".bin"} | MEDIA_EXTENSIONS
FILE_ROUTES = ("/gradio_api/file=", "/gradio_api/file/", "/file=", "/file/")  # every route Gradio serves files by

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
SHARE_DOMAIN = "*.gradio.live"  # where Gradio's share links live


def allowed_hosts(access: Access) -> list[str]:
    """The names a request's ``Host`` may carry: loopback, plus this machine's under --listen, plus share."""
    hosts = list(LOOPBACK_NAMES)
    if access.listen:
        hosts += own_names()
    hosts += [_bracketed(name.lower()) for name in access.allowed_hosts]
    if access.share:
        hosts.append(SHARE_DOMAIN)
    return list(dict.fromkeys(hosts))


def own_names() -> list[str]:
    """This machine's host names and the addresses they and its default route resolve to."""
    names = {socket.gethostname(), socket.getfqdn()}
    addresses = set()
    for name in list(names):
        try:
            addresses |= {info[4][0] for info in socket.getaddrinfo(name, None)}
        except OSError:
            pass
    try:  # the address other machines reach this one by; connect() on UDP sends nothing
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("10.255.255.255", 1))
            addresses.add(probe.getsockname()[0])
    except OSError:
        pass
    return sorted(name.lower() for name in names if name) + sorted(_bracketed(a) for a in addresses)


def _bracketed(host: str) -> str:
    """IPv6 addresses appear in ``Host`` in brackets."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _matches(host: str, patterns: list[str]) -> bool:
    return any(host == p or (p.startswith("*.") and host.endswith(p[1:])) for p in patterns)


class OriginCheck:
    """Refuse (403) requests sent by a page of another site: their ``Origin`` names a host not allowed."""

    def __init__(self, app, allowed_hosts: list[str]):
        self.app, self.allowed = app, [h.lower() for h in allowed_hosts]

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            headers = Headers(scope=scope)
            origin = headers.get("origin")
            if origin is not None and not self._allowed(origin, headers.get("host")):
                await PlainTextResponse("Requests from other sites are refused.", status_code=403)(
                    scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _allowed(self, origin: str, host_header: str | None) -> bool:
        parsed = parse_host_header(urlsplit(origin).netloc) if origin != "null" else None
        return (parsed is not None and _matches(parsed.host.lower(), self.allowed)
                and _same_port(urlsplit(origin), host_header))


def _same_port(origin, host_header: str | None) -> bool:
    """Whether the page's origin is on the port the request came to. A ``Host`` without a port (a proxy or a
    tunnel such as the share link) does not say which, so the host name alone decides there."""
    port = parse_host_header(host_header).port if host_header else None  # a string, or None
    if port is None:
        return True
    try:
        origin_port = origin.port or {"http": 80, "https": 443}.get(origin.scheme)
    except ValueError:  # a port that is not a number
        return False
    return str(origin_port) == port


class HistoryFiles:
    """Refuse (403) a file under History that is hidden, of a type History does not write, or in another
    login's History (a login's files are for that login only); every file answer says ``nosniff``, so a browser never reads one as another type (a
    page, a script)."""

    def __init__(self, app, histories: Histories | None = None):
        self.app, self.histories = app, histories

    async def __call__(self, scope, receive, send):
        route = next((r for r in FILE_ROUTES if scope.get("path", "").startswith(r)), None)
        if scope["type"] != "http" or route is None:
            await self.app(scope, receive, send)
            return
        if self._refused(unquote(scope["path"][len(route):]), scope):
            await PlainTextResponse("This file is not served.", status_code=403)(scope, receive, send)
            return

        async def nosniff(message):
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + [(b"x-content-type-options", b"nosniff")]
            await send(message)
        await self.app(scope, receive, nosniff)

    def _refused(self, requested: str, scope) -> bool:
        if self.histories is None:
            return False
        try:
            path = Path(requested).resolve()
        except (OSError, ValueError):
            return True
        roots = [root.resolve() for root in self.histories.roots()]
        if not any(path.is_relative_to(root) for root in roots):
            return False  # not History's: Gradio's own rules decide
        own = self.histories.for_login(login_of(scope)).root.resolve()
        return (not path.is_relative_to(own) or _hidden(path.relative_to(own).parts)
                or path.suffix.lower() not in HISTORY_TYPES)


def _hidden(parts: tuple[str, ...]) -> bool:
    """A path inside a History with a hidden part (an entry's kept original, its copies for undo, a cached
    picture), except the zips of Download all, which are made to be served."""
    return any(part.startswith(".") for part in parts) and not (len(parts) == 2 and parts[0] == DOWNLOADS)


def login_of(scope) -> str | None:
    """The login a request carries (Gradio's session cookie), or None: without logins, or not logged in.
    Read from Gradio 6's app (``tokens``, ``cookie_id``); if they change, None (another login's files stay
    refused, as None has no History under logins)."""
    app = scope.get("app")
    tokens, cookie_id = getattr(app, "tokens", None), getattr(app, "cookie_id", None)
    if not tokens or cookie_id is None:
        return None
    cookies = Request(scope).cookies
    token = cookies.get(f"access-token-{cookie_id}") or cookies.get(f"access-token-unsecure-{cookie_id}")
    return tokens.get(token)


class LoginBackoff:
    """Wrong logins make the next tries wait (``first_wait_s``, doubling up to ``longest_wait_s``; HTTP 429 with
    ``Retry-After``), counted two ways, as established servers count them (OWASP's authentication guidance;
    fail2ban's per-client jails; per-account throttling):

    * per account *and* client address: after ``free_tries`` wrong passwords for one account from one address.
      Someone else's wrong guesses never slow a user who logs in to another account from the same address (a
      shared proxy, the share link, one workstation), and a right login clears only its own pair's count.
    * per account, from any address: after ``account_free_tries`` (more) wrong passwords, so a guesser who
      changes address on each try (a spoofed ``X-Forwarded-For``, many machines) is slowed all the same. The
      account's own user is slowed only while someone is guessing at it, and not at all from a browser it
      logged in from before (a signed cookie; OWASP's device cookies).

    The client address is the connection's own: the app does not take ``X-Forwarded-For`` from anyone unless
    ``FORWARDED_ALLOW_IPS`` names the proxy (see :func:`..handlers.launch`).
    """

    def __init__(self, app, free_tries: int = 5, account_free_tries: int = 20, first_wait_s: float = 1.0,
                 longest_wait_s: float = 300.0):
        self.app, self.free_tries, self.account_free_tries = app, free_tries, account_free_tries
        self.first_wait_s, self.longest_wait_s = first_wait_s, longest_wait_s
        self.failures: dict[tuple, int] = {}
        self.blocked_until: dict[tuple, float] = {}
        self.secret = secrets.token_bytes(32)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"].rstrip("/") != "/login":
            await self.app(scope, receive, send)
            return
        messages, _, complete = await read_body(receive, MAX_LOGIN_BODY)
        replay = replaying(messages, receive)
        account = await _login_name(scope, messages) if complete else None
        if account is None:
            await PlainTextResponse("A login is one user name and one password.", status_code=400)(
                scope, replay, send)
            return
        keys = [("pair", account, (scope.get("client") or ("unknown",))[0]), ("account", account)]
        known = self._known(scope, account)
        counted = keys[:1] if known else keys  # a browser this account logged in from is not slowed by others
        wait = max(self.blocked_until.get(key, 0.0) for key in counted) - time.monotonic()
        if wait > 0:
            await PlainTextResponse(f"Too many wrong logins; try again in {wait:.0f} s.", status_code=429,
                                    headers={"Retry-After": str(max(1, round(wait)))})(scope, replay, send)
            return

        async def watch(message):
            if message["type"] == "http.response.start":
                ok = message["status"] < 400
                self._record(keys, ok=ok)
                if ok and not known:
                    message["headers"] = list(message.get("headers", [])) + [self._known_cookie(account)]
            await send(message)
        await self.app(scope, replay, watch)

    # A browser that logged in to an account gets a cookie saying so (signed with a secret of this run), and
    # the account-wide count does not slow it: someone guessing at the account from elsewhere cannot lock its
    # own user out (OWASP's device cookies). Its own address's count still does.
    def _cookie_name(self, account: str) -> str:
        return f"studio-known-{hashlib.sha256(account.encode()).hexdigest()[:16]}"

    def _cookie_value(self, account: str) -> str:
        return hmac.new(self.secret, account.encode(), hashlib.sha256).hexdigest()

    def _known(self, scope, account: str) -> bool:
        presented = Request(scope).cookies.get(self._cookie_name(account), "")
        return bool(account) and hmac.compare_digest(presented, self._cookie_value(account))

    def _known_cookie(self, account: str) -> tuple[bytes, bytes]:
        value = (f"{self._cookie_name(account)}={self._cookie_value(account)}; Path=/; HttpOnly; SameSite=Lax; "
                 f"Max-Age={KNOWN_BROWSER_S}")
        return b"set-cookie", value.encode()

    def _record(self, keys: list[tuple], ok: bool) -> None:
        pair, account = keys
        if ok:
            for key in (pair, account):  # the account's own user got in: its count starts again too
                self.failures.pop(key, None)
                self.blocked_until.pop(key, None)
            return
        if len(self.failures) > 10_000:  # many clients: forget those no longer waiting, so memory stays small
            now = time.monotonic()
            self.failures = {k: n for k, n in self.failures.items() if self.blocked_until.get(k, 0.0) > now}
        for key, free in ((pair, self.free_tries), (account, self.account_free_tries)):
            failures = self.failures[key] = self.failures.get(key, 0) + 1
            if failures >= free:
                wait = min(self.first_wait_s * 2 ** (failures - free), self.longest_wait_s)
                self.blocked_until[key] = time.monotonic() + wait


KNOWN_BROWSER_S = 30 * 24 * 3600
# A login form is a name and a password: anything longer is not one.
MAX_LOGIN_BODY = 16_384


async def read_body(receive, limit: int) -> tuple[list[dict], bytes, bool]:
    """A request's body messages as they came, the body, and whether it ended within ``limit`` bytes (reading
    stops there). Hand the messages on with :func:`replaying`, so the app reads the body as if nothing had."""
    messages, body = [], b""
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, body, False
        body += message.get("body", b"")
        if len(body) > limit:
            return messages, body, False
        if not message.get("more_body", False):
            return messages, body, True


def replaying(messages: list[dict], receive):
    """A ``receive`` that hands ``messages`` on again, then the rest of the request as it comes."""
    pending = list(messages)

    async def replay():
        return pending.pop(0) if pending else await receive()
    return replay


async def _login_name(scope, messages: list[dict]) -> str | None:
    """The user name the login route will check, read as it reads it (Starlette's form parser, the last
    field of a name, spaces stripped: Gradio's ``login``), or None for a form that names two users."""
    pending = list(messages)

    async def receive():
        return pending.pop(0) if pending else {"type": "http.disconnect"}
    try:
        names = (await Request(scope, receive).form()).getlist("username")
    except Exception:  # noqa: BLE001 - not a form: the route refuses it; the address alone counts
        return ""
    if len(names) > 1:
        return None
    return str(names[0]).strip() if names else ""


def middleware(access: Access, histories: Histories | None = None) -> list[Middleware]:
    """For ``launch(app_kwargs={"middleware": ...})``: outermost first."""
    hosts = allowed_hosts(access)
    return [Middleware(TrustedHostMiddleware, allowed_hosts=hosts, www_redirect=False),
            Middleware(OriginCheck, allowed_hosts=hosts),
            Middleware(HistoryFiles, histories=histories),
            Middleware(LoginBackoff)]
