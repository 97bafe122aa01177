"""Trust across the gap (issue 22): PEP 740 provenance verified and served, PEP 792 statuses carried,
malicious releases refused. The real CLI against a stand-in upstream serving Simple API 1.4 with real
signed files and their real provenance objects (tests/fixtures/trust); Sigstore runs offline."""

from __future__ import annotations

import json
import zipfile

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from tests.upstream.build_checks import leftovers
from tests.upstream.fake_index import TRUST_ASSETS, Dist, FakeIndex, real, wheel

WHEEL = "circleci_sign_publish_example-0.0.1.dev137-py3-none-any.whl"  # CircleCI-signed, with provenance
PLAIN = "rfc8785-0.1.2-py3-none-any.whl"  # real, published without provenance
SDIST = "pypi_attestations-0.0.19.tar.gz"  # GitHub-signed (trailofbits/pypi-attestations, release.yml)
GOOGLE = "gcb_attestation_test-0.0.0.tar.gz"  # signed by a Google Cloud Build service account
STATUSES = {
    "rfc8785": ("archived", "no longer maintained"),
    "gcb-attestation-test": ("deprecated", None),
    "evil": ("quarantined", "malware reported"),
}


def dists() -> list[Dist]:
    return [real(WHEEL), real(PLAIN), real(SDIST), real(GOOGLE)]


@pytest.fixture
def index():
    with FakeIndex(dists(), api_version="1.4", statuses=STATUSES) as fake:
        yield fake


def read(tmp_path, relative: str, out: str = "out"):
    """A tree file, parsed when it is JSON (name.json.txt: the JSON file's text)."""
    text = (tmp_path / out / relative.removesuffix(".txt")).read_text()
    if relative.endswith(".txt"):
        return text
    return json.loads(text) if relative.endswith(".json") else text


def pylock(tmp_path, index: FakeIndex, *filenames: str):
    """A pylock.toml naming these files (sdists and wheels) at the stand-in's URLs."""
    blocks = ['lock-version = "1.0"\ncreated-by = "test"\n']
    for filename in filenames:
        dist = index.dists[filename]
        name, version = filename.split("-")[0].replace("_", "-"), filename.split("-")[1].removesuffix(".tar.gz")
        kind = "sdist" if filename.endswith(".tar.gz") else "wheels"
        entry = f'{{ name = "{filename}", url = "{index.file_url(filename)}", hashes = {{ sha256 = "{dist.sha256}" }} }}'
        blocks.append(f'\n[[packages]]\nname = "{name}"\nversion = "{version}"\n'
                      + (f"sdist = {entry}\n" if kind == "sdist" else f"wheels = [{entry}]\n"))
    path = tmp_path / "pylock.toml"
    path.write_text("".join(blocks))
    return path


def test_a_verified_provenance_is_served_beside_its_file_and_recorded_everywhere(build, tmp_path):
    result = build(requirements="circleci-sign-publish-example\nrfc8785\n")
    assert result.code == 0, result.err
    served = tmp_path / "out" / "packages" / f"{WHEEL}.provenance"
    assert served.read_bytes() == (TRUST_ASSETS / f"{WHEEL}.provenance").read_bytes()
    assert not (tmp_path / "out" / "packages" / f"{PLAIN}.provenance").exists()

    page = read(tmp_path, "simple/circleci-sign-publish-example/index.json")
    assert page["meta"]["api-version"] == "1.4"
    (entry,) = page["files"]
    assert entry["provenance"] == f"../../packages/{WHEEL}.provenance"
    assert "project-status" not in page  # active: nothing invented
    html = read(tmp_path, "simple/circleci-sign-publish-example/index.html")
    assert f'data-provenance="../../packages/{WHEEL}.provenance"' in html
    assert '<meta name="pypi:repository-version" content="1.4">' in html
    plain = read(tmp_path, "simple/rfc8785/index.json")
    assert plain["files"][0]["provenance"] is None
    assert "data-provenance" not in read(tmp_path, "simple/rfc8785/index.html")

    lock = read(tmp_path, "lock.json")
    locked = {f["filename"]: f for f in lock["files"]}
    provenance = locked[WHEEL]["provenance"]
    (publisher,) = provenance["publishers"]
    assert publisher["kind"] == "CircleCI"
    assert publisher["repository"] == "github.com/CircleCI-Public/sign-and-publish-examples"
    assert publisher["claims"]["project_id"] == "fdd9283f-e619-46af-8f9c-851f7d3e8b2b"
    assert provenance["verified-at"] == "2024-01-02T03:04:05Z"  # the tree's build time: same lock, same bytes
    assert provenance["url"] == f"{build.index.base}/integrity/{WHEEL}/provenance"
    assert "provenance" not in locked[PLAIN]

    audit = read(tmp_path, "audit.json")
    assert audit["provenance"]["policy"] == "verify"
    assert [v["filename"] for v in audit["provenance"]["verified"]] == [WHEEL]
    assert audit["provenance"]["without"] == [PLAIN]
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(read(tmp_path, "sbom.cdx.json.txt")) is None
    sbom = read(tmp_path, "sbom.cdx.json")
    component = next(c for c in sbom["components"] if c["name"] == "circleci-sign-publish-example")
    assert any(r["type"] == "attestation" and r["url"] == f"packages/{WHEEL}.provenance"
               for r in component["externalReferences"])
    assert {"name": "pypi-mirror:provenance:publisher-kind", "value": "CircleCI"} in component["properties"]
    project_page = read(tmp_path, "projects/circleci-sign-publish-example/index.html")
    assert (f'<a href="../../packages/{WHEEL}.provenance">provenance</a> verified 2024-01-02T03:04:05Z: '
            "CircleCI github.com/CircleCI-Public/sign-and-publish-examples") in project_page


def test_an_archived_project_is_reported_in_the_log_the_pages_and_audit_json(build, tmp_path, caplog):
    result = build(requirements="rfc8785\n")
    assert result.code == 0, result.err
    assert "project rfc8785 is archived upstream: no longer maintained" in caplog.text
    page = read(tmp_path, "simple/rfc8785/index.json")
    assert page["project-status"] == {"status": "archived", "reason": "no longer maintained"}
    html = read(tmp_path, "simple/rfc8785/index.html")
    assert '<meta name="pypi:project-status" content="archived">' in html
    assert '<meta name="pypi:project-status-reason" content="no longer maintained">' in html
    assert read(tmp_path, "audit.json")["project-status"] == {
        "rfc8785": {"status": "archived", "reason": "no longer maintained"}}
    assert read(tmp_path, "lock.json")["project-status"] == {
        "rfc8785": {"status": "archived", "reason": "no longer maintained"}}
    assert "Its index marks this project <strong>archived</strong>: no longer maintained" in read(
        tmp_path, "projects/rfc8785/index.html")
    assert ('<a href="projects/rfc8785/">rfc8785</a> <span class="sev moderate" title="PEP 792 status from its '
            'index">archived</span>') in read(tmp_path, "index.html")


def test_sdists_signed_on_github_and_google_verify_from_a_pylock(build, tmp_path, index, caplog):
    result = build(requirements=pylock(tmp_path, index, SDIST, GOOGLE), extra=("--include-sdists",))
    assert result.code == 0, result.err
    locked = {f["filename"]: f for f in read(tmp_path, "lock.json")["files"]}
    github = locked[SDIST]["provenance"]["publishers"][0]
    assert (github["kind"], github["repository"], github["workflow"], github["environment"]) == (
        "GitHub", "https://github.com/trailofbits/pypi-attestations", "release.yml", None)
    google = locked[GOOGLE]["provenance"]["publishers"][0]
    assert (google["kind"], google["repository"]) == ("Google", "919436158236-compute@developer.gserviceaccount.com")
    assert "project gcb-attestation-test is deprecated upstream" in caplog.text
    assert '<meta name="pypi:project-status" content="deprecated">' in read(
        tmp_path, "simple/gcb-attestation-test/index.html")


def tampered(provenance: bytes) -> bytes:
    """The real object with one byte of the first attestation's signature changed."""
    document = json.loads(provenance)
    envelope = document["attestation_bundles"][0]["attestations"][0]["envelope"]
    signature = envelope["signature"]
    envelope["signature"] = ("A" if signature[0] != "A" else "B") + signature[1:]
    return json.dumps(document).encode()


def test_a_tampered_provenance_fails_the_build_naming_the_file(tmp_path, capfd):
    from tests.upstream.conftest import Builder

    bad = real(WHEEL)
    bad = Dist(bad.filename, bad.data, bad.metadata, tampered(bad.provenance))
    with FakeIndex([bad], api_version="1.4") as fake:
        result = Builder(tmp_path, capfd, fake)(requirements="circleci-sign-publish-example\n")
    assert result.code == 1
    assert result.error.startswith(f"pypi-mirror: error: provenance of {WHEEL}: does not verify against the "
                                   "CircleCI publisher it names")
    assert not (tmp_path / "out").exists()
    assert leftovers(tmp_path) == []


def test_a_provenance_of_another_file_fails_naming_the_file(tmp_path, capfd):
    from tests.upstream.conftest import Builder

    wrong = real(WHEEL)
    wrong = Dist(wrong.filename, wrong.data, wrong.metadata, (TRUST_ASSETS / f"{SDIST}.provenance").read_bytes())
    with FakeIndex([wrong], api_version="1.4") as fake:
        result = Builder(tmp_path, capfd, fake)(requirements="circleci-sign-publish-example\n")
    assert result.code == 1
    assert result.error.startswith(f"pypi-mirror: error: provenance of {WHEEL}: does not verify")


def test_require_refuses_a_file_without_provenance_before_downloading(build, tmp_path, index):
    result = build(requirements="circleci-sign-publish-example\nrfc8785\n", extra=("--provenance", "require"))
    assert result.code == 1
    assert result.error == (f"pypi-mirror: error: provenance of {PLAIN}: the index publishes none, and the "
                            "provenance policy requires one for every file (PROVENANCE=require)")
    assert index.downloads() == []


def test_require_builds_when_every_file_has_one(build, tmp_path):
    result = build(requirements="circleci-sign-publish-example\n", extra=("--provenance", "require"))
    assert result.code == 0, result.err


def test_off_neither_fetches_nor_serves_provenance(build, tmp_path, index):
    result = build(requirements="circleci-sign-publish-example\n", extra=("--provenance", "off"))
    assert result.code == 0, result.err
    assert index.requests("/integrity/") == []
    assert not (tmp_path / "out" / "packages" / f"{WHEEL}.provenance").exists()
    assert read(tmp_path, "simple/circleci-sign-publish-example/index.json")["files"][0]["provenance"] is None


def test_a_quarantined_project_fails_the_set_naming_it_and_its_status(build, tmp_path):
    # The index hides a quarantined project's files: the resolver alone would only say "no versions".
    result = build(requirements="evil\n")
    assert result.code == 1
    assert result.error == ("pypi-mirror: error: set requirements needs evil, which its index marks quarantined "
                            "(malware reported): the index considers it unsafe; remove it from the set")
    assert leftovers(tmp_path) == []


def test_a_quarantined_project_whose_files_are_still_listed_fails_too(tmp_path, capfd):
    from tests.upstream.conftest import Builder

    with FakeIndex([wheel("evil", "1.0")], api_version="1.4", statuses={"evil": ("quarantined", None)},
                   hide_quarantined=False) as fake:
        result = Builder(tmp_path, capfd, fake)(requirements="evil\n")
    assert result.code == 1
    assert result.error.startswith("pypi-mirror: error: set requirements needs evil, which its index marks "
                                   "quarantined: ")
    assert fake.downloads() == []


def test_a_refresh_fails_when_a_project_stops_publishing_provenance(tmp_path, capfd):
    from tests.upstream.conftest import Builder

    with FakeIndex([real(WHEEL)], api_version="1.4") as fake:
        build = Builder(tmp_path, capfd, fake)
        assert build(requirements="circleci-sign-publish-example\n", out="previous").code == 0
        # A new release, uploaded without provenance (a stolen token would look like this).
        fake.dists["circleci_sign_publish_example-0.0.2-py3-none-any.whl"] = wheel(
            "circleci_sign_publish_example", "0.0.2")
        result = build(requirements="circleci-sign-publish-example\n", out="next",
                       extra=("--previous-manifest", str(tmp_path / "previous" / "mirror.json")))
    assert result.code == 1
    assert result.error == (
        "pypi-mirror: error: provenance of circleci_sign_publish_example-0.0.2-py3-none-any.whl: "
        f"circleci-sign-publish-example published provenance before ({WHEEL}), its new release 0.0.2 has none: "
        "an upload from outside its trusted publisher (a stolen token?); check it with the project before "
        "mirroring it")
    assert not (tmp_path / "next").exists()


def test_a_refresh_of_the_same_release_passes(build, tmp_path):
    assert build(requirements="circleci-sign-publish-example\n", out="previous").code == 0
    result = build(requirements="circleci-sign-publish-example\n", out="next",
                   extra=("--previous-manifest", str(tmp_path / "previous" / "lock.json")))
    assert result.code == 0, result.err


MALICIOUS = {
    "id": "MAL-2099-0001",
    "summary": "Synthetic test record: malicious code in rfc8785 (made up for pypi-mirror's tests)",
    "modified": "2099-01-01T00:00:00Z",
    "affected": [{"package": {"ecosystem": "PyPI", "name": "rfc8785"}, "versions": ["0.1.2"]}],
}


@pytest.fixture
def mal_export(tmp_path):
    path = tmp_path / "osv-mal.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("MAL-2099-0001.json", json.dumps(MALICIOUS))
    return path


def test_a_malicious_release_is_refused_under_audit_warn(build, tmp_path, mal_export):
    result = build(requirements="rfc8785\n", extra=("--vuln-db", str(mal_export)))
    assert result.code == 1
    assert result.error == ("pypi-mirror: error: malicious release refused: rfc8785 0.1.2 MAL-2099-0001 "
                            "(only --audit off or a line in --audit-ignore lets one in)")
    assert not (tmp_path / "out").exists()


def test_an_ignore_line_lets_a_malicious_release_in_and_the_pages_mark_it(build, tmp_path, mal_export):
    ignore = tmp_path / "ignore.txt"
    ignore.write_text("MAL-2099-0001  checked by hand: a false report\n")
    result = build(requirements="rfc8785\n", extra=("--vuln-db", str(mal_export), "--audit-ignore", str(ignore)))
    assert result.code == 0, result.err
    (ignored,) = read(tmp_path, "audit.json")["ignored"]
    assert ignored["id"] == "MAL-2099-0001" and ignored["malicious"] is True
    page = read(tmp_path, "projects/rfc8785/index.html")
    assert '<tr class="ignored malicious">' in page
    assert '<span class="sev critical malicious">malicious release</span>' in page
    assert ('<a href="osv/v1/vulns/MAL-2099-0001">MAL-2099-0001</a> <span class="sev critical malicious">malicious '
            'release</span>: checked by hand: a false report') in read(tmp_path, "index.html")


def test_audit_off_lets_a_malicious_release_in(build, tmp_path, mal_export):
    result = build(requirements="rfc8785\n", extra=("--vuln-db", str(mal_export), "--audit", "off"))
    assert result.code == 0, result.err


def test_a_rebuild_from_the_lock_gives_the_same_tree_and_refuses_a_changed_provenance(tmp_path, capfd):
    from tests.upstream.build_checks import tree_hashes
    from tests.upstream.conftest import Builder

    with FakeIndex([real(WHEEL)], api_version="1.4") as fake:
        build = Builder(tmp_path, capfd, fake)
        assert build(requirements="circleci-sign-publish-example\n", out="first").code == 0
        lock = tmp_path / "lock.json"
        lock.write_bytes((tmp_path / "first" / "lock.json").read_bytes())
        again = build(lock=lock, out="again")
        assert again.code == 0, again.err
        assert tree_hashes(tmp_path / "again") == tree_hashes(tmp_path / "first")
        # Still a valid, verifying object, but not the bytes the lock recorded.
        original = fake.dists[WHEEL]
        reformatted = json.dumps(json.loads(original.provenance), indent=2).encode()
        fake.dists[WHEEL] = Dist(original.filename, original.data, original.metadata, reformatted)
        changed = build(lock=lock, out="changed")
    assert changed.code == 1
    assert changed.error.startswith(f"pypi-mirror: error: provenance of {WHEEL}: the index now serves a provenance "
                                    "object with sha256 ")
    assert changed.error.endswith(f"the lock records {json.loads(lock.read_text())['files'][0]['provenance']['sha256']}")


def test_a_lock_that_records_a_quarantine_fails_like_the_index_would(build, tmp_path):
    assert build(requirements="rfc8785\n", out="first").code == 0
    document = json.loads((tmp_path / "first" / "lock.json").read_text())
    document["project-status"]["rfc8785"] = {"status": "quarantined", "reason": None}
    lock = tmp_path / "lock.json"
    lock.write_text(json.dumps(document))
    result = build(lock=lock, out="again")
    assert result.code == 1
    assert result.error == ("pypi-mirror: error: set requirements needs rfc8785, which its index marks quarantined: "
                            "the index considers it unsafe; remove it from the set")
