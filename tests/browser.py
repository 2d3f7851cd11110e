"""Drive a report page in Debian's headless chromium through Playwright, for any test.

The access report is a page people open from disk; only a real browser shows whether its script
runs, its filters hide what they should and nothing is fetched. The helpers here take a path to any
rendered page (the example's, or the one a sync against the emulator wrote), so each test states
only what it checks.

The browser is the distribution's ``/usr/bin/chromium`` (``scripts/install_browser.sh``, which
``make venv`` runs, installs it), never Playwright's own download: CI images and closed networks
have the package, not the CDN. ``ORGIAM_CHROMIUM`` names another binary.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("ORGIAM_CHROMIUM", "/usr/bin/chromium")
# As root in a container with no network: no sandbox (needs user namespaces), no GPU, nothing that
# phones home. Playwright adds --headless and its own fresh --user-data-dir.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
VIEWPORT = {"width": 1600, "height": 1000}
READY = "body[data-ready='true']"


def browser_unavailable() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"Playwright is not importable ({exc}); it is in requirements/dev.txt: make venv"
    if not os.access(CHROMIUM, os.X_OK):
        return (f"{CHROMIUM} is missing and could not be installed: scripts/install_browser.sh installs Debian's "
                "chromium (make venv runs it; it needs root or passwordless sudo)")
    return None


@contextmanager
def chromium() -> Iterator[Any]:
    """One headless chromium for as long as the block runs (a Playwright Browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class OpenedPage:
    """A page and what it said while it ran: console messages, uncaught errors, requests."""

    page: Any
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    seconds_to_ready: float = 0.0


@contextmanager
def open_page(path: str | os.PathLike[str], browser: Any = None, viewport: dict[str, int] | None = None) -> Iterator[OpenedPage]:
    """Open a page from disk (file://) and wait until its script says it has drawn everything.

    Listeners are attached before navigation so that nothing the page logs on load is missed.
    With no ``browser``, one is launched for this page alone.
    """
    if browser is None:
        with chromium() as own, open_page(path, own, viewport) as opened:
            yield opened
        return
    context = browser.new_context(viewport=viewport or VIEWPORT)
    try:
        page = context.new_page()
        opened = OpenedPage(page)
        page.on("console", lambda message: opened.console.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: opened.errors.append(str(error)))
        page.on("request", lambda request: opened.requests.append(request.url))
        started = time.perf_counter()
        page.goto(Path(path).resolve().as_uri())
        page.wait_for_selector(READY, state="attached")
        opened.seconds_to_ready = time.perf_counter() - started
        yield opened
    finally:
        context.close()


def console_errors(opened: OpenedPage) -> list[str]:
    """Everything the page logged or threw; a clean page says nothing at all."""
    return opened.console + opened.errors


def outside_requests(opened: OpenedPage, page_path: str | os.PathLike[str]) -> list[str]:
    """Requests for anything but the page itself: a self-contained page makes none."""
    own = Path(page_path).resolve().as_uri()
    return [url for url in opened.requests if url != own and not url.startswith("data:")]


def _visible_attribute(page: Any, selector: str, attribute: str) -> list[str]:
    """The attribute of every element matching selector that the browser really renders."""
    return page.eval_on_selector_all(
        selector, "(nodes, name) => nodes.filter((n) => n.checkVisibility()).map((n) => n.getAttribute(name))", attribute)


def visible_accounts(page: Any) -> list[str]:
    """Ids of the account columns shown, left to right."""
    return _visible_attribute(page, "#matrix thead th[data-account-id]", "data-account-id")


def visible_account_names(page: Any) -> list[str]:
    """Names of the account columns shown, left to right."""
    return _visible_attribute(page, "#matrix thead th[data-account-id]", "data-account-name")


def visible_ou_headers(page: Any) -> list[str]:
    """OU paths of the OU header cells shown."""
    return _visible_attribute(page, "#matrix thead th.ou-head", "data-ou-path")


def visible_principals(page: Any) -> list[str]:
    """Names of the principal rows shown, top to bottom."""
    return _visible_attribute(page, "#matrix tbody tr[data-principal]", "data-principal")


def visible_cells(page: Any, principal: str) -> dict[str, str]:
    """One principal's shown cells: {account id: the cell's text}."""
    return page.eval_on_selector_all(
        "#matrix tbody tr[data-principal]",
        """(rows, who) => {
             const row = rows.find((r) => r.getAttribute("data-principal") === who);
             const cells = {};
             for (const td of row ? row.querySelectorAll("td[data-account-id]") : []) {
               if (td.checkVisibility()) { cells[td.getAttribute("data-account-id")] = td.textContent; }
             }
             return cells;
           }""",
        principal)


def summary_values(page: Any) -> dict[str, str]:
    """The summary's figures as shown: {"people": "3", "accounts": "8", ...}."""
    return page.eval_on_selector_all(
        "#summary [data-summary]",
        "(boxes) => Object.fromEntries(boxes.map((b) => [b.getAttribute('data-summary'), b.querySelector('dd').getAttribute('data-value')]))")


def choose_ou(page: Any, ou_path: str) -> None:
    """Pick an OU in the filter ("*" for all, "/" for the root's own accounts)."""
    page.select_option("#ou-filter", value=ou_path)


def search_person(page: Any, text: str) -> None:
    """Type into the person search as a reviewer would, key by key."""
    box = page.locator("#person-search")
    box.fill("")
    box.press_sequentially(text)


def screenshot(page: Any, path: str | os.PathLike[str], whole_matrix: bool = True) -> Path:
    """A full-page PNG at path (its directory created), focus removed.

    The matrix scrolls inside its own box (so its headers stay in sight), which a full-page shot
    alone would cut; ``whole_matrix`` first grows the viewport until the box needs no scrolling.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    page.evaluate("document.activeElement && document.activeElement.blur()")
    if whole_matrix:
        size = page.viewport_size or VIEWPORT
        extra = page.eval_on_selector(
            ".matrix-wrap", "(box) => [box.scrollWidth - box.clientWidth, box.scrollHeight - box.clientHeight]")
        page.set_viewport_size({"width": size["width"] + extra[0], "height": size["height"] + extra[1]})
    page.screenshot(path=str(target), full_page=True)
    return target
