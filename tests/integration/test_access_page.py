"""The access report page in a real browser: it runs clean, its filters hide what they should, it
stays fast at 200 accounts and 50 principals, and nothing is fetched.

Headless Debian chromium through Playwright (tests/browser.py). The test skips, naming
scripts/install_browser.sh, only when the browser or Playwright is not there.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.orgiam.aws.plugins.module_utils.report.access_page import write_access_report

from tests.browser import (
    browser_unavailable,
    choose_ou,
    chromium,
    console_errors,
    open_page,
    outside_requests,
    screenshot,
    search_person,
    summary_values,
    visible_account_names,
    visible_accounts,
    visible_cells,
    visible_ou_headers,
    visible_principals,
)
from tests.unit.test_access_page import DEMO_ACCOUNTS, example_access, large_access

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "out" / "access-report.png"
RENDER_BUDGET_SECONDS = 2.0

ACCOUNT_NAMES_BY_OU = {}
for _id, _name, _ou, _status in DEMO_ACCOUNTS:
    ACCOUNT_NAMES_BY_OU.setdefault(_ou, []).append(_name)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One chromium for the module's tests; skip (with the way to get it) when there is none."""
    reason = browser_unavailable()
    if reason:
        pytest.skip(reason)
    with chromium() as launched:
        yield launched


@pytest.fixture
def example_page(tmp_path: Path) -> Path:
    """The demo organization's report, written as the sync writes it."""
    return Path(write_access_report(example_access(), str(tmp_path))["html"])


def test_page_opens_from_disk_with_no_console_output_and_no_request(browser, example_page):
    with open_page(example_page, browser) as opened:
        assert console_errors(opened) == []
        assert outside_requests(opened, example_page) == []
        assert opened.page.title() == "Access report · o-demo1234ab"
        assert summary_values(opened.page) == {
            "people": "3", "groups": "3", "accounts": "8", "roles": "2", "paths": "27", "no-mfa": "1"}
        assert len(visible_accounts(opened.page)) == len(DEMO_ACCOUNTS)
        # unreached accounts are columns too, marked in text
        legacy = opened.page.locator("#matrix thead th[data-account-name='Legacy App']")
        assert "no access" in legacy.text_content() and "SUSPENDED" in legacy.text_content()
        # MFA is said in words, not colour alone
        carol = visible_cells(opened.page, "carol.audit")
        assert [text for text in carol.values() if text] == ["ReadOnlyNO MFA"]
        assert "via platform-engineers" in "".join(visible_cells(opened.page, "alice.platform").values())
        assert console_errors(opened) == []


def test_ou_filter_shows_only_that_ou_and_its_children(browser, example_page):
    with open_page(example_page, browser) as opened:
        page = opened.page
        choose_ou(page, "Workloads")
        workloads = ACCOUNT_NAMES_BY_OU["Workloads/Prod"] + ACCOUNT_NAMES_BY_OU["Workloads/SDLC"]
        assert sorted(visible_account_names(page)) == sorted(workloads)
        assert visible_ou_headers(page) == ["Workloads/Prod", "Workloads/SDLC"]
        for name in ACCOUNT_NAMES_BY_OU["Sandbox"]:
            assert page.locator(f"#matrix thead th[data-account-name='{name}']").is_hidden()
        sandbox_alice = next(i for i, n, _o, _s in DEMO_ACCOUNTS if n == "Sandbox Alice")
        assert page.locator(f"#matrix td[data-account-id='{sandbox_alice}']").first.is_hidden()
        for name in workloads:
            assert page.locator(f"#matrix thead th[data-account-name='{name}']").is_visible()

        choose_ou(page, "Workloads/Prod")
        assert sorted(visible_account_names(page)) == sorted(ACCOUNT_NAMES_BY_OU["Workloads/Prod"])
        choose_ou(page, "/")
        assert visible_account_names(page) == ["Management"]
        choose_ou(page, "*")
        assert len(visible_accounts(page)) == len(DEMO_ACCOUNTS)
        assert "showing 12 of 12 accounts" in page.locator("#shown-count").inner_text()
        assert console_errors(opened) == []


def test_person_search_keeps_only_that_persons_rows(browser, example_page):
    with open_page(example_page, browser) as opened:
        page = opened.page
        search_person(page, "bob")
        assert visible_principals(page) == ["bob.payments"]
        assert page.locator("#matrix tbody tr[data-principal='alice.platform']").is_hidden()
        search_person(page, "PLATFORM")  # case-insensitive substring: the group and alice
        assert visible_principals(page) == ["platform-engineers", "alice.platform"]
        search_person(page, "nobody-by-this-name")
        assert visible_principals(page) == [] and page.locator("#no-match").is_visible()
        page.locator("#person-search").press("Escape")
        assert len(visible_principals(page)) == 6
        assert console_errors(opened) == []


def test_filters_combine_and_screenshot_of_the_whole_page(browser, example_page):
    with open_page(example_page, browser) as opened:
        page = opened.page
        choose_ou(page, "Workloads")
        search_person(page, "bob")
        cells = visible_cells(page, "bob.payments")
        assert len(cells) == 5 and all("ReadOnly" in text for text in cells.values())
        choose_ou(page, "*")
        search_person(page, "")
        screenshot(page, SCREENSHOT)
        assert SCREENSHOT.stat().st_size > 10_000
        assert console_errors(opened) == []


def test_a_name_with_markup_renders_as_text(browser, tmp_path):
    access = example_access()
    evil = "</script><img src=x onerror=alert(1)>"
    access["principals"].append({"type": "user", "name": evil, "groups": []})
    access["rows"].append({**access["rows"][0], "principal_type": "user", "principal": evil, "via": ""})
    html = write_access_report(access, str(tmp_path))["html"]
    with open_page(html, browser) as opened:
        assert evil in visible_principals(opened.page)
        assert opened.page.locator("#matrix img").count() == 0
        assert console_errors(opened) == [] and outside_requests(opened, html) == []


def test_200_accounts_and_50_principals_render_within_budget(browser, tmp_path):
    html = write_access_report(large_access(200, 50), str(tmp_path))["html"]
    with open_page(html, browser) as opened:
        page = opened.page
        assert opened.seconds_to_ready < RENDER_BUDGET_SECONDS, f"ready after {opened.seconds_to_ready:.2f}s"
        assert int(page.get_attribute("body", "data-render-ms")) < RENDER_BUDGET_SECONDS * 1000
        assert len(visible_accounts(page)) == 200 and len(visible_principals(page)) == 50
        started = page.evaluate("performance.now()")
        choose_ou(page, "Workloads/Team03")
        search_person(page, "user.1")
        elapsed_ms = page.evaluate("performance.now()") - started
        assert len(visible_accounts(page)) < 200 and len(visible_principals(page)) == 10
        assert elapsed_ms < RENDER_BUDGET_SECONDS * 1000
        assert console_errors(opened) == []
