"""The pages for people in a real browser: Debian's chromium driven by Playwright.

Against the shared appliance (the pip-audit set) and, for advisories, an
image of its own built with the OSV test export and releases it covers.
Every request a page makes is recorded: none may leave the appliance.
Screenshots of both pages at desktop and phone width go to tests/artifacts/pages/.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests
from playwright.sync_api import sync_playwright

from tests.fixtures.osv_db import make_osv_zip
from tests.integration.appliance import REPO, build_or_fail, running_mirror

ARTIFACTS = REPO / "tests" / "artifacts" / "pages"
CHROMIUM = "/usr/bin/chromium"
# Nothing of its own: no update checks, no sync, no first-run pages.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
ADVISORIES = "tests/integration/requirements/pages-advisories.txt"
# Two cover requests 2.19.1, one py 1.11.0; one does not cover, one is withdrawn.
RECORDS = ("GHSA-j8r2-6x86-q33q", "PYSEC-2018-28", "GHSA-w596-4wvx-j9j6", "PYSEC-2014-13", "PYPI-MIRROR-TEST-WITHDRAWN")


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def advisory_mirror(internal_network, tmp_path_factory):
    """An appliance whose releases have known advisories: requests 2.19.1 and py 1.11.0 against
    the OSV test export, for two targets."""
    tag = f"{os.environ.get('PYPI_MIRROR_TEST_TAG', 'test')}-advisories"
    vuln_db = make_osv_zip(tmp_path_factory.mktemp("osv") / "osv-pypi.zip", only=RECORDS)
    build_or_fail(TAG=tag, REQUIREMENTS=ADVISORIES, VULN_DB=str(vuln_db), PYTHON_VERSIONS="3.11 3.12",
                  PLATFORMS="manylinux_x86_64")
    with running_mirror(f"pypi-mirror:{tag}", internal_network) as mirror:
        yield mirror


class Visit:
    """One page in a fresh browser context, with every request it made."""

    def __init__(self, browser, url: str, *, viewport=DESKTOP, **context):
        self.context = browser.new_context(viewport=viewport, **context)
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.response = self.page.goto(url, wait_until="load")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.context.close()

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def scroll_width(self) -> int:
        return self.page.evaluate("document.documentElement.scrollWidth")


def only_from(visit: Visit, origin: str) -> list[str]:
    """The requests that went anywhere but the appliance."""
    return [url for url in visit.requests if not (url == origin or url.startswith(origin + "/"))]


def visible_projects(page) -> list[str]:
    # A block with no match is hidden whole, its rows left as they were (site.js).
    return page.eval_on_selector_all("#project-table tbody:not([hidden]) tr:not([hidden]) td:first-child",
                                     "cells => cells.map(c => c.textContent)")


def test_front_and_project_page_load_everything_from_the_appliance_alone(browser, mirror):
    with Visit(browser, mirror.url + "/") as front:
        assert front.response.status == 200
        assert front.response.headers["content-security-policy"].startswith("default-src 'self'")
        front.page.click("#project-table a[href='projects/pip-audit/']")
        front.page.wait_for_load_state("load")
        assert front.page.url == mirror.url + "/projects/pip-audit/"
        assert front.page.inner_text("h1") == "pip-audit"
        assert only_from(front, mirror.url) == []
        # The stylesheet, the script and the icon were fetched, and nothing was refused.
        assert {mirror.url + "/assets/site.css", mirror.url + "/assets/site.js"} <= set(front.requests)
        assert front.errors == []


def test_the_filter_narrows_the_table_and_counts(browser, mirror):
    with Visit(browser, mirror.url + "/") as front:
        everything = visible_projects(front.page)
        assert len(everything) > 20 and "pip-audit" in everything
        front.page.fill("#filter", "Pip_A")  # spelled any way PEP 503 allows
        assert visible_projects(front.page) == ["pip-api", "pip-audit"]
        assert front.page.inner_text("#filter-count") == f"2 of {len(everything)} projects"
        front.page.fill("#filter", "no-such-project")
        assert visible_projects(front.page) == []
        front.page.fill("#filter", "")
        assert visible_projects(front.page) == everything


def test_the_copy_button_copies_the_pip_command_for_the_address_used(browser, mirror):
    with Visit(browser, mirror.url + "/", permissions=["clipboard-read", "clipboard-write"]) as front:
        front.page.click("button[data-copy='cmd-pip']")
        front.page.wait_for_function("document.querySelector(\"button[data-copy='cmd-pip']\").textContent === 'Copied'")
        copied = front.page.evaluate("navigator.clipboard.readText()")
    assert copied == f"pip install --index-url {mirror.url}/simple/ --trusted-host 127.0.0.1 PACKAGE"


def test_without_javascript_everything_is_there_and_no_dead_control_shows(browser, mirror):
    with Visit(browser, mirror.url + "/", java_script_enabled=False) as front:
        assert len(visible_projects(front.page)) > 20
        assert f"pip install --index-url {mirror.url}/simple/" in front.page.inner_text("#cmd-pip")
        assert front.page.is_hidden("#filter-form")
        assert front.page.is_hidden("button[data-copy='cmd-pip']")


@pytest.mark.parametrize("path", ["/", "/projects/pip-audit/"])
def test_no_horizontal_scroll_at_phone_width_and_screenshots(browser, mirror, path):
    name = "front" if path == "/" else "project"
    with Visit(browser, mirror.url + path, viewport=PHONE) as phone:
        assert phone.scroll_width() <= PHONE["width"]
        assert phone.shot(f"{name}-phone").stat().st_size > 0
    with Visit(browser, mirror.url + path) as desktop:
        assert desktop.scroll_width() <= DESKTOP["width"]
        assert desktop.shot(f"{name}-desktop").stat().st_size > 0


def test_advisories_show_on_both_pages_and_fit_a_phone(browser, advisory_mirror):
    url = advisory_mirror.url
    for path, name in (("/", "advisories-front"), ("/projects/requests/", "advisories-project")):
        with Visit(browser, url + path, viewport=PHONE) as phone:
            assert phone.scroll_width() <= PHONE["width"], path
            phone.shot(f"{name}-phone")
            assert only_from(phone, url) == [] and phone.errors == []
        with Visit(browser, url + path) as desktop:
            text = desktop.page.inner_text("main")
            assert "PYSEC-2018-28" in text and "GHSA-j8r2-6x86-q33q" in text
            desktop.shot(f"{name}-desktop")
    with Visit(browser, url + "/") as front:
        assert front.page.inner_text("#advisories .status") == (
            "3 known vulnerabilities in the 6 mirrored releases (2 affected).")
        # Drawn at build time: GitHub's two MODERATE ones and PYSEC's unrated one.
        assert front.page.text_content("#chart-severity title").endswith("moderate 2; low 0; not rated 1")
        front.page.check("#filter-vulnerable")
        assert visible_projects(front.page) == ["py", "requests"]


def test_an_advisory_link_resolves_to_the_record_the_appliance_serves(browser, advisory_mirror):
    # The appliance serves /osv/ (issue 13): a 404 here is a broken image, never a reason to skip.
    meta = requests.get(advisory_mirror.url + "/osv/meta.json", timeout=10)
    assert meta.status_code == 200, f"/osv/meta.json answered {meta.status_code}: the advisory links lead nowhere"
    assert meta.json()["records"] > 0, meta.text
    with Visit(browser, advisory_mirror.url + "/projects/requests/") as project:
        with project.page.expect_navigation():
            project.page.click("a[href='../../osv/v1/vulns/PYSEC-2018-28']")
        assert project.page.url == advisory_mirror.url + "/osv/v1/vulns/PYSEC-2018-28"
        record = project.page.evaluate("fetch(location.href).then(r => r.json())")
        assert record["id"] == "PYSEC-2018-28" and "CVE-2018-18074" in record["aliases"]
        assert only_from(project, advisory_mirror.url) == []
