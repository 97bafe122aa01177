"""File inputs reach the build through the named `inputs` context, with plain `docker buildx bake`.

Their content is BuildKit's cache key (a new file at the same path re-runs
the build step, the same one keeps the cache), a requirements tree comes
along with its includes, nothing of any input lands in an image layer, and a
missing file is one line naming its variable.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import zipfile
from pathlib import Path

import pytest

from tests.integration.appliance import ONE_TARGET, REPO, plain_bake, tree_of
from tests.integration.layers import search_image

FIXTURES = REPO / "tests" / "fixtures" / "osv"
BUILD_STEP = re.compile(r"^#(\d+) \[wheelhouse builder \d+/\d+\] RUN .*build\.py build", re.M)


def export(path: Path, *records: str) -> Path:
    """An OSV export of these fixture records, unique to this run (an earlier run's cache must not answer)."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("README.txt", f"test export {secrets.token_hex(8)}\n")
        for name in records:
            archive.write(FIXTURES / name, name)
    return path


def build_step_cached(log: str) -> bool:
    step = BUILD_STEP.search(log)
    assert step, log[-3000:]
    return re.search(rf"^#{step.group(1)} CACHED$", log, re.M) is not None


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("vuln-data")
    (folder / "requirements.txt").write_text("requests==2.19.1\n")
    return folder


def test_a_new_vuln_db_at_the_same_path_reruns_the_audit_and_the_same_one_keeps_the_cache(tmp_path, data):
    requirements = str(data / "requirements.txt")
    vuln_db = data / "osv.zip"
    allow = ("--allow", f"fs.read={data}")
    export(vuln_db, "PYSEC-2018-28.json")
    first, _ = tree_of(tmp_path, "first", *allow, REQUIREMENTS=requirements, VULN_DB=str(vuln_db))
    export(vuln_db, "PYSEC-2018-28.json", "GHSA-j8r2-6x86-q33q.json", "PYSEC-2014-13.json", "GHSA-w596-4wvx-j9j6.json")
    second, log = tree_of(tmp_path, "second", *allow, REQUIREMENTS=requirements, VULN_DB=str(vuln_db))
    again, log_again = tree_of(tmp_path, "again", *allow, REQUIREMENTS=requirements, VULN_DB=str(vuln_db))

    def ids(tree: Path) -> list[str]:
        report = json.loads((tree / "audit.json").read_text())
        assert report["ran"] is True
        return sorted(v["id"] for v in report["vulnerabilities"])

    assert ids(first) == ["PYSEC-2018-28"]
    assert ids(second) == ["GHSA-j8r2-6x86-q33q", "PYSEC-2018-28"]
    assert not build_step_cached(log)
    assert build_step_cached(log_again)
    assert ids(again) == ids(second)


def test_a_requirements_tree_outside_the_repo_builds_with_its_includes_and_constraints(tmp_path):
    tree = tmp_path / "reqs"
    (tree / "base" / "core").mkdir(parents=True)
    (tree / "app.txt").write_text("-r base/common.txt\n-c constraints.txt\n")
    (tree / "base" / "common.txt").write_text("-r core/minimal.txt\nidna\n")
    (tree / "base" / "core" / "minimal.txt").write_text("six\n")
    (tree / "constraints.txt").write_text("idna==3.7\n")
    # Relative to where the command runs (the repo), as a user types it: ../../tmp/...
    relative = os.path.relpath(tree / "app.txt", REPO)
    built, _ = tree_of(tmp_path, "out", "--allow", f"fs.read={tree}", REQUIREMENTS=relative)

    lock = json.loads((built / "lock.json").read_text())
    [target] = lock["targets"]
    assert sorted(target["pins"]) == ["idna", "six"]
    assert target["pins"]["idna"] == "3.7"


def test_no_input_file_content_lands_in_any_layer_of_either_image(tmp_path, docker_client):
    marker = f"pypi-mirror-input-marker-{secrets.token_hex(12)}"
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "requirements.txt").write_text(f"# {marker} requirements\nsix\n")
    (folder / "ignore.txt").write_text(f"# {marker} ignore list\n")
    tag = f"inputs-{secrets.token_hex(4)}"
    # One image per bake: two share the build step, which buildx 0.29 can drop (docs/building.md).
    for target in ("mirror", "wheelhouse"):
        result = plain_bake(target, "--allow", f"fs.read={folder}", TAG=tag, **ONE_TARGET,
                            REQUIREMENTS=str(folder / "requirements.txt"), AUDIT_IGNORE=str(folder / "ignore.txt"))
        assert result.returncode == 0, result.stderr[-4000:]
    try:
        for image in (f"pypi-mirror:{tag}", f"pypi-mirror-wheelhouse:{tag}"):
            hits, seen = search_image(image, {"input marker": marker.encode()}, tmp_path)
            assert hits == [], image
            assert any(name.endswith("/srv/pypi/lock.json") for name in seen), image
            config = docker_client.images.get(image).attrs
            assert marker not in json.dumps(config), image
    finally:
        for image in (f"pypi-mirror:{tag}", f"pypi-mirror-wheelhouse:{tag}"):
            docker_client.images.remove(image, force=True)


def test_a_missing_input_file_is_one_line_naming_its_variable(tmp_path, data):
    result = plain_bake("wheelhouse", "--set", f"wheelhouse.output=type=local,dest={tmp_path / 'out'}",
                        "--allow", f"fs.write={tmp_path}", "--allow", f"fs.read={data}", **ONE_TARGET, REQUIREMENTS=str(data / "requirements.txt"),
                        VULN_DB=str(data / "no-such-export.zip"))
    assert result.returncode != 0
    errors = set(re.findall(r"pypi-mirror: error: (.*)", result.stderr))
    assert errors == {"VULN_DB: file not found: /inputs/vuln_db/no-such-export.zip"}, result.stderr[-3000:]


def test_labels_come_from_bake_itself(tmp_path, docker_client):
    lock = tmp_path / "lock.json"
    built, _ = tree_of(tmp_path, "locked", "--allow", f"fs.read={REPO / 'requirements'}",
                       REQUIREMENTS=str(REPO / "requirements" / "pip-audit.txt"))
    lock.write_bytes((built / "lock.json").read_bytes())
    tag = f"labels-{secrets.token_hex(4)}"
    result = plain_bake("mirror", "--allow", f"fs.read={tmp_path}", TAG=tag, LOCK=str(lock),
                        SOURCE_DATE_EPOCH="1700000000", REVISION="abc123", SOURCE_URL="https://example.invalid/repo")
    assert result.returncode == 0, result.stderr[-4000:]
    try:
        labels = docker_client.images.get(f"pypi-mirror:{tag}").labels
    finally:
        docker_client.images.remove(f"pypi-mirror:{tag}", force=True)
    assert labels["org.opencontainers.image.created"] == "2023-11-14T22:13:20Z"
    assert labels["org.opencontainers.image.revision"] == "abc123"
    assert labels["org.opencontainers.image.source"] == "https://example.invalid/repo"
    assert labels["org.opencontainers.image.version"] == tag
    assert labels["org.opencontainers.image.title"] == "pypi-mirror"
    assert labels["org.opencontainers.image.description"].endswith(f"built from the lock {lock}")


def test_an_include_linking_to_a_build_secret_is_one_line_and_the_secret_never_shows(tmp_path):
    # Issue 21 item 2, through plain bake. Failed before: the inputs context keeps a symlink as a link,
    # inside the build step it led to the mounted netrc, which was read and its line printed.
    folder = tmp_path / "reqs"
    folder.mkdir()
    (folder / "requirements.txt").write_text("six\n-r base.txt\n")
    (folder / "base.txt").symlink_to("/run/secrets/netrc")
    password = f"pw-{secrets.token_hex(12)}"
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine nowhere.invalid login builder password {password}\n")
    result = plain_bake("wheelhouse", "--set", f"wheelhouse.output=type=local,dest={tmp_path / 'out'}",
                        "--allow", f"fs.write={tmp_path}", "--allow", f"fs.read={tmp_path}", **ONE_TARGET,
                        REQUIREMENTS=str(folder / "requirements.txt"), NETRC_FILE=str(netrc))
    assert result.returncode != 0
    errors = set(re.findall(r"pypi-mirror: error: (.*)", result.stderr))  # buildx repeats the failing step's log
    assert len(errors) == 1 and next(iter(errors)).startswith(
        "/inputs/requirements/requirements.txt:2: -r base.txt: includes /run/secrets/netrc, outside "
        "/inputs/requirements"), result.stderr[-3000:]
    assert password not in result.stderr
