"""The support page ``/admin/``: its shell and files in-process, then Chromium against a real server.

The browser test runs ``scim-server serve --sandbox`` (real uvicorn, worker on, the Auth0 emulator
in-process), provisions a user through SCIM as Okta would, issues an operator token with
``scim-server admin token issue`` and drives Debian's ``/usr/bin/chromium`` with Playwright: paste
the token, pick the organization, search the user by email, and read the timeline, the role with
the rule behind it and the queue. A group named with markup must show as text. The screenshot is
kept in ``test-output/admin-page.png``. Without Chromium the browser test is skipped, unless
SCIM_REQUIRE_CHROMIUM=1 (set by .ci/run) turns that into a failure.
"""

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from scim_server.config import Settings
from scim_server.web.admin_page import CONTENT_SECURITY_POLICY
from scim_server.web.app import create_app


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """Serve the application in-process; the page never touches the database."""
    app = create_app(Settings(SCIM_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'page.db'}"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
    await app.state.tenancy.close()


@pytest.mark.anyio
async def test_the_page_is_a_shell_that_only_runs_its_own_files(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/admin/")

    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "'unsafe-inline'" not in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    # No inline script or style: the CSP would block it, so the page would silently break.
    [script] = re.findall(r"<script[^>]*>", page.text)
    assert re.fullmatch(r'<script src="static/admin\.js\?v=[0-9a-f]{16}" defer>', script)
    assert "<style" not in page.text
    assert " on" not in re.sub(r">[^<]*<", "><", page.text)  # no onclick= and the like


@pytest.mark.anyio
async def test_the_files_are_cached_for_good_only_under_their_current_version(
    client: httpx.AsyncClient,
) -> None:
    page = (await client.get("/admin/")).text
    [script] = re.findall(r'src="(static/admin\.js\?v=[0-9a-f]+)"', page)
    [style] = re.findall(r'href="(static/admin\.css\?v=[0-9a-f]+)"', page)

    current = await client.get(f"/admin/{script}")
    stale = await client.get("/admin/static/admin.js?v=0000000000000000")
    css = await client.get(f"/admin/{style}")

    assert current.status_code == 200
    assert current.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "immutable" in current.headers["cache-control"]
    assert stale.content == current.content
    assert stale.headers["cache-control"] == "no-cache"
    assert css.headers["content-type"] == "text/css; charset=utf-8"
    assert "immutable" in css.headers["cache-control"]


@pytest.mark.anyio
async def test_the_script_never_writes_markup(client: httpx.AsyncClient) -> None:
    """Data is written as text only: the script has no HTML sink at all."""
    script = (await client.get("/admin/static/admin.js")).text

    code = [line for line in script.splitlines() if not line.strip().startswith("//")]

    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert not [line for line in code if sink in line], sink
    assert "textContent" in script


@pytest.mark.anyio
async def test_only_the_pages_own_files_are_served(client: httpx.AsyncClient) -> None:
    for path in (
        "/admin/static/index.html",
        "/admin/static/..%2Fadmin_page.py",
        "/admin/static/x.js",
    ):
        assert (await client.get(path)).status_code == 404, path


@pytest.mark.anyio
async def test_admin_without_a_slash_goes_to_the_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/admin")

    assert response.status_code == 308
    assert response.headers["location"] == "http://testserver/admin/"
