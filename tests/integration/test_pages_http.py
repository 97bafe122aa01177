"""The pages for people as nginx serves them: paths, types, the Content-Security-Policy, the address filled in."""

from __future__ import annotations

import pytest

CSP = "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'"

PAGES = {
    "/": "text/html",
    "/projects/pip-audit/": "text/html",
    "/assets/site.css": "text/css",
    "/assets/site.js": "text/javascript",
    "/assets/icon.svg": "image/svg+xml",
}


@pytest.mark.parametrize("path", PAGES)
def test_pages_and_assets_carry_the_csp_and_every_security_header(mirror, path):
    response = mirror.get(path)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == PAGES[path]
    assert response.headers["Content-Security-Policy"] == CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_the_simple_api_is_left_as_it_was(mirror):
    assert "Content-Security-Policy" not in mirror.get("/simple/pip-audit/").headers


def test_a_project_page_has_the_address_used_and_its_files(mirror):
    host = f"{mirror.alias}:8080"
    page = mirror.get("/projects/pip-audit/", headers={"Host": host}).text
    assert f"pip install --index-url http://{host}/simple/ --trusted-host {mirror.alias} pip-audit==" in page
    assert "@MIRROR_" not in page and "@PIP_" not in page
    index = mirror.get("/simple/pip-audit/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}).json()
    for f in index["files"]:
        assert f'href="../../packages/{f["filename"]}"' in page and f["hashes"]["sha256"] in page


@pytest.mark.parametrize("path", ["/projects/", "/projects/no-such-project/", "/projects/Pip_Audit/",
                                  "/projects/pip-audit", "/assets/", "/assets/missing.js", "/assets/site.css.gz"])
def test_anything_else_under_the_pages_is_404(mirror, path):
    assert mirror.get(path).status_code == 404
