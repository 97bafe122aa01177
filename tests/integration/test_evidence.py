"""What the appliance says about itself: manifest, SBOM and audit, served as JSON."""

from __future__ import annotations

import hashlib


def test_manifest_sbom_and_audit_are_served_as_json_and_agree(mirror):
    served = {}
    for path in ("/mirror.json", "/sbom.cdx.json", "/audit.json"):
        response = mirror.get(path)
        assert response.status_code == 200, path
        assert response.headers["Content-Type"].split(";")[0] == "application/json", path
        served[path] = response
    manifest = served["/mirror.json"].json()
    listed = {f["path"]: f["sha256"] for f in manifest["files"]}
    for path in ("/sbom.cdx.json", "/audit.json"):
        assert listed[path[1:]] == hashlib.sha256(served[path].content).hexdigest()
    purls = {c["purl"] for c in served["/sbom.cdx.json"].json()["components"]}
    assert any(p.startswith("pkg:pypi/pip-audit@") for p in purls)
    # The session image is built with the test export (conftest.py): the audit ran on the
    # very data the appliance serves under /osv/.
    audit = served["/audit.json"].json()
    meta = mirror.get("/osv/meta.json").json()
    assert audit["ran"] is True and audit["sources"] == [{**audit["sources"][0], "sha256": meta["sha256"]}]
    assert listed["osv/meta.json"] == hashlib.sha256(mirror.get("/osv/meta.json").content).hexdigest()
    landing = mirror.get("/").text
    assert "Known vulnerabilities at build time" in landing
    assert f"Audited at build time against OSV database export {audit['sources'][0]['file']}" in landing
