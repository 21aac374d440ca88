"""The support page ``/admin/``: its shell and files in-process, then Chromium against a real server.

The browser test runs ``scim-server serve --sandbox`` (real uvicorn, worker on, the Auth0 emulator
in-process), provisions a user through SCIM as Okta would, issues an operator token with
``scim-server admin token issue`` and drives Debian's ``/usr/bin/chromium`` with Playwright: paste
the token, pick the organization, search the user by email, and read the timeline, the role with
the rule behind it and the queue. A group named with markup must show as text. The screenshot is
kept in ``test-output/admin-page.png``. Without Chromium the browser test is skipped, unless
SCIM_REQUIRE_CHROMIUM=1 (set by .ci/run) turns that into a failure.
"""

import os
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import ConsoleMessage
from playwright.sync_api import Page
from playwright.sync_api import Response
from playwright.sync_api import expect
from playwright.sync_api import sync_playwright

from scim_server.config import Settings
from scim_server.web.admin_page import CONTENT_SECURITY_POLICY
from scim_server.web.app import create_app
from tests.helpers.server import Cli


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


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = Path(__file__).resolve().parents[2] / "test-output" / "admin-page.png"
SCIM = "application/scim+json"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
PROVISIONING = "urn:ietf:params:scim:schemas:extension:scim-server:2.0:Provisioning"
EMAIL = "ann.lee@acme.test"
MARKUP = '<img src=x onerror="window.__xss=1">Night <b>shift</b>'
"""A group name an IdP admin could type; the page must show it as these very characters."""
CONVERGENCE_SECONDS = 20


def chromium() -> Path:
    """Return Debian's Chromium, or skip (fail when SCIM_REQUIRE_CHROMIUM=1, as in .ci/run)."""
    if CHROMIUM.exists():
        return CHROMIUM
    message = f"{CHROMIUM} not found (apt-get install chromium)"
    if os.environ.get("SCIM_REQUIRE_CHROMIUM") == "1":
        pytest.fail(f"{message}, and SCIM_REQUIRE_CHROMIUM=1", pytrace=False)
    pytest.skip(message)


def scim_client(url: str, token: str) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": SCIM}
    return httpx.Client(base_url=f"{url}/scim/v2/acme", headers=headers, timeout=10)


def okta_lifecycle(url: str, token: str) -> str:
    """Provision a user as Okta does: joiner, groups pushed with PATCH, then a mover; return its id.

    Waits until the worker has synced the user into the emulator with the admin role.
    """
    with scim_client(url, token) as scim:
        created = scim.post(
            "/Users",
            json={
                "schemas": [USER_SCHEMA],
                "userName": EMAIL,
                "externalId": "00u1ann",
                "name": {"givenName": "Ann", "familyName": "Lee"},
                "emails": [{"value": EMAIL, "primary": True, "type": "work"}],
                "active": True,
            },
        )
        assert created.status_code == 201, created.text
        user_id = created.json()["id"]
        for name in ("org_admin", MARKUP):
            group = scim.post("/Groups", json={"schemas": [GROUP_SCHEMA], "displayName": name})
            assert group.status_code == 201, group.text
            add = {"op": "add", "path": "members", "value": [{"value": user_id}]}
            patched = scim.patch(
                f"/Groups/{group.json()['id']}", json={"schemas": [PATCH_OP], "Operations": [add]}
            )
            assert patched.status_code in (200, 204), patched.text
        moved = scim.patch(
            f"/Users/{user_id}",
            json={
                "schemas": [PATCH_OP],
                "Operations": [{"op": "replace", "path": "name.familyName", "value": "Lee-Park"}],
            },
        )
        assert moved.status_code == 200, moved.text

        deadline = time.monotonic() + CONVERGENCE_SECONDS
        while True:
            provisioning = scim.get(f"/Users/{user_id}").json().get(PROVISIONING, {})
            if provisioning.get("state") == "synced" and provisioning.get("roles") == [
                "org_admin",
                "org_member",
            ]:
                return str(user_id)
            assert time.monotonic() < deadline, f"not synced: {provisioning}"
            time.sleep(0.1)


def sign_in(page: Page, url: str, token: str) -> None:
    page.goto(f"{url}/admin/")
    expect(page.locator("#sign-in")).to_be_visible()
    page.fill("#token", token)
    page.click("#token-form button[type=submit]")
    expect(page.locator("#workspace")).to_be_visible()


def search(page: Page, user: str) -> None:
    page.fill("#user", user)
    page.click("#search-form button[type=submit]")
    expect(page.locator("#explain-panel")).to_be_visible()
    expect(page.locator("#timeline-panel")).to_be_visible()


@pytest.mark.e2e
def test_support_finds_a_user_and_reads_why_they_have_their_roles(
    database_url: str, tmp_path: Path
) -> None:
    browser = chromium()
    cli = Cli(database_url)
    with cli.serve("--sandbox") as url:
        scim_token = cli.run("token", "issue", "acme", "--name", "okta").splitlines()[-1]
        user_id = okta_lifecycle(url, scim_token)
        cli.run(
            "org", "add", "globex", "--auth0-org", "globex", "--connection", "db", "--profile", "okta"
        )  # fmt: skip
        issued = cli.run("admin", "token", "issue", "--name", "support-desk").splitlines()
        support = issued[-1]
        [support_id] = re.findall(r"^Issued operator token (\S+) ", issued[0])
        globex = cli.run("admin", "token", "issue", "--org", "globex").splitlines()[-1]

        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                tmp_path / "chromium-profile",
                executable_path=browser,
                headless=True,
                args=CHROMIUM_ARGS,
                viewport={"width": 1280, "height": 900},
            )
            # The page must run without a CSP violation or an exception in its script, and
            # without a request that fails other than the API's expected 401 and 404 answers.
            problems: list[str] = []

            def on_console(message: ConsoleMessage) -> None:
                if message.type == "error" and not message.text.startswith(
                    "Failed to load resource"  # each reported by on_response
                ):
                    problems.append(f"{message.text} at {message.location}")

            def on_response(response: Response) -> None:
                expected = "/admin/api/" in response.url and response.status in (401, 404)
                if response.status >= 400 and not expected:
                    problems.append(f"{response.status} {response.url}")

            context.on("console", on_console)
            context.on("response", on_response)
            context.on("weberror", lambda error: problems.append(str(error.error)))
            try:
                page = context.new_page()
                sign_in(page, url, support)
                expect(page.locator("#whoami")).to_contain_text("support-desk")
                expect(page.locator("#org")).to_have_value("acme")
                expect(page.locator("#org-details")).to_contain_text("Queued tasks")
                search(page, EMAIL)

                # The explanation: the admin role and the rule of the Okta profile behind it.
                [card] = page.locator("#explain .explanation").all()
                expect(card.locator("h3")).to_have_text(EMAIL)
                expect(card).to_contain_text(user_id)
                expect(card).to_contain_text("synced")
                admin = card.locator(
                    "table.roles tr", has=page.locator("td.role", has_text="org_admin")
                )
                expect(admin.locator("li.because code")).to_have_text(
                    "okta@1:group-named-like-role"
                )
                expect(admin.locator("li.because")).to_contain_text(
                    "group displayName in [org_admin, org_billing]"
                )
                member = card.locator(
                    "table.roles tr", has=page.locator("td.role", has_text="org_member")
                )
                expect(member.locator("li.because code")).to_have_text("okta@1:member")
                expect(card).to_contain_text("Nothing queued")

                # The timeline: the SCIM writes with their reasons, then the worker's Auth0 steps.
                rows = page.locator("#timeline tbody tr")
                sources = rows.locator("td:nth-child(2)").all_text_contents()
                kinds = rows.locator("td:nth-child(4)").all_text_contents()
                actors = rows.locator("td:nth-child(3)").all_text_contents()
                assert "scim" in sources
                assert "okta" in actors  # the name of the SCIM token that wrote
                assert "worker" in sources
                assert any(kind.startswith("auth0.") for kind in kinds), kinds
                expect(page.locator("#timeline .reasons").first).to_be_visible()
                assert "org_admin \u2190 okta@1:group-named-like-role" in (
                    page.locator("#timeline .reasons").all_text_contents()
                )

                # The group named with markup shows as text: no element, no script ran.
                expect(card.locator(".groups")).to_contain_text(MARKUP)
                assert page.locator("img").count() == 0
                assert page.locator("#explain b").count() == 0
                assert page.evaluate("typeof window.__xss") == "undefined"

                SCREENSHOT.parent.mkdir(exist_ok=True)
                page.screenshot(path=SCREENSHOT, full_page=True)
                print(f"screenshot: {SCREENSHOT}")  # noqa: T201  (for the person reading the run)

                # The token stays in this tab: a reload keeps it (and the search), no cookie,
                # nothing in localStorage.
                page.reload()
                expect(page.locator("#explain .explanation h3")).to_have_text(EMAIL)
                assert page.evaluate("localStorage.length") == 0
                assert context.cookies() == []

                # Any identity key finds the same person: here Okta's externalId.
                search(page, "00u1ann")
                expect(page.locator("#timeline-note")).to_contain_text("00u1ann")
                expect(page.locator("#explain .explanation h3")).to_have_text(EMAIL)

                # Another organization's token sees only that organization, and not Ann.
                # (A new tab starts signed out: sign_in waits for the form.)
                other = context.new_page()
                sign_in(other, url, globex)
                expect(other.locator("#org option")).to_have_text(["globex"])
                search(other, EMAIL)
                expect(other.locator("#explain")).to_contain_text("No SCIM user")
                expect(other.locator("#timeline-note")).to_contain_text("No event")

                # "Load newer events" appends what happened since (the API's after=).
                page.bring_to_front()
                shown = rows.count()
                with scim_client(url, scim_token) as scim:
                    rename = {"op": "replace", "path": "displayName", "value": "Ann Lee-Park"}
                    moved = scim.patch(
                        f"/Users/{user_id}", json={"schemas": [PATCH_OP], "Operations": [rename]}
                    )
                    assert moved.status_code == 200, moved.text
                page.click("#newer")
                expect(page.locator("#message")).to_have_text(re.compile(r"^[1-9]\d* newer event"))
                assert rows.count() > shown

                # A token revoked meanwhile sends the page back to the sign-in form.
                cli.run("admin", "token", "revoke", support_id)
                page.click("#search-form button[type=submit]")
                expect(page.locator("#sign-in")).to_be_visible()
                expect(page.locator("#message")).to_contain_text("HTTP 401")
                assert page.evaluate("sessionStorage.length") == 0

                # A token that was never issued is refused with the reason.
                page.fill("#token", "scimop_not-a-token")
                page.click("#token-form button[type=submit]")
                expect(page.locator("#message")).to_contain_text("refused")
                expect(page.locator("#sign-in")).to_be_visible()
            finally:
                context.close()
    assert problems == []
