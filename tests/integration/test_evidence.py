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
    # The default build has no vulnerability data: the report must say it did not run.
    audit = served["/audit.json"].json()
    assert audit["ran"] is False and audit["vulnerabilities"] is None
    assert "Not audited: no vulnerability source" in mirror.get("/").text
