"""The support page at ``/admin/``: one server-rendered shell whose script reads the admin API.

Support staff answer "why does this person (not) have access?" here without a terminal: paste a
token, pick an organization, search any identity key, read the timeline, the explanation (each
role with the rule behind it) and the organization's queue. The page itself holds no data and
needs no front-end build: the browser fetches everything from ``/admin/api`` (``web/admin_api.py``)
with the token the person pasted, which stays in that tab's ``sessionStorage``.

The data comes from IdPs and customers (a group ``displayName`` is whatever an Okta admin typed),
so the script writes every value with ``textContent`` and never parses markup, and the
Content-Security-Policy admits only this origin's script and style files: no inline script, no
``eval``, no form posts, no framing. Markup in a name can only ever show as text.
"""

import hashlib
from dataclasses import dataclass
from importlib.resources import files
from string import Template

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.responses import RedirectResponse
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.routing import Route

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; "
    "object-src 'none'"
)
"""Only our own files run; ``form-action 'none'`` also keeps a pasted token out of any URL
should the script fail to load (the forms are handled by the script, never submitted)."""

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

ASSET_TYPES = {
    "admin.js": "text/javascript; charset=utf-8",
    "admin.css": "text/css; charset=utf-8",
    "icon.svg": "image/svg+xml",
}
"""The files the page loads, with their media types; nothing else under ``static/`` is served."""

IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Asset:
    """A file of the page, read once at start-up, named in the page by its content's hash."""

    body: bytes
    media_type: str
    version: str


class AdminPage:
    """Serve the page shell and its files, read from ``web/admin_static`` at start-up."""

    def __init__(self) -> None:
        directory = files("scim_server.web") / "admin_static"
        self.assets = {
            name: Asset(
                body=(body := (directory / name).read_bytes()),
                media_type=media_type,
                version=hashlib.sha256(body).hexdigest()[:16],
            )
            for name, media_type in ASSET_TYPES.items()
        }
        shell = Template((directory / "index.html").read_text(encoding="utf-8"))
        # Versioned URLs: a browser never runs a cached script of an older release against
        # this release's API, and the files themselves can be cached for good.
        self.html = shell.substitute(
            js_version=self.assets["admin.js"].version,
            css_version=self.assets["admin.css"].version,
            icon_version=self.assets["icon.svg"].version,
        )

    @property
    def routes(self) -> list[BaseRoute]:
        """Return the routes to add to the application."""
        return [
            Route("/admin", self.redirect, methods=["GET"]),
            Route("/admin/", self.page, methods=["GET"]),
            Route("/admin/static/{name}", self.asset, methods=["GET"]),
        ]

    async def redirect(self, request: Request) -> Response:
        """Send ``/admin`` to ``/admin/``, where the page's relative URLs resolve."""
        return RedirectResponse(request.url.replace(path=request.url.path + "/"), status_code=308)

    async def page(self, request: Request) -> Response:
        """Serve the page shell (never cached: it names the current files)."""
        return HTMLResponse(self.html, headers={**SECURITY_HEADERS, "Cache-Control": "no-store"})

    async def asset(self, request: Request) -> Response:
        """Serve one of the page's files; cached for good when asked for by its current hash."""
        asset = self.assets.get(request.path_params["name"])
        if asset is None:
            return Response("Not found", status_code=404, media_type="text/plain")
        current = request.query_params.get("v") == asset.version
        return Response(
            asset.body,
            media_type=asset.media_type,
            headers={**SECURITY_HEADERS, "Cache-Control": IMMUTABLE if current else "no-cache"},
        )
