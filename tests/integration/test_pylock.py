"""/pylock.toml from the running appliance: uv and pip >= 26.1 install from it with no way out."""

from __future__ import annotations

import json

import pytest

from mirror.inputs.pylock import tomllib
from tests.integration.appliance import run_client

pytestmark = pytest.mark.docker

FETCH = "import sys, urllib.request; sys.stdout.buffer.write(urllib.request.urlopen(sys.argv[1]).read())"


def test_the_served_lock_carries_the_address_the_client_used_and_the_trees_hashes(mirror):
    response = mirror.get("/pylock.toml")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/toml")
    lock = tomllib.loads(response.text)
    assert lock["lock-version"] == "1.0" and "@MIRROR_URL@" not in response.text
    tree = {f["path"].removeprefix("packages/"): f["sha256"]
            for f in json.loads(mirror.get("/mirror.json").text)["files"] if f["path"].startswith("packages/")}
    files = [f for p in lock["packages"] for f in [*p.get("wheels", []), *([p["sdist"]] if "sdist" in p else [])]]
    assert files and {f["name"]: f["hashes"]["sha256"] for f in files} == {
        name: digest for name, digest in tree.items() if not name.endswith(".metadata")}
    assert {f["url"] for f in files} == {f"{mirror.url}/packages/{f['name']}" for f in files}
    assert all(f["size"] > 0 and f["upload-time"] for f in files)
    (set_name,) = [s["name"] for s in json.loads(mirror.get("/lock.json").text)["sets"]]
    per_set = mirror.get(f"/locks/{set_name}/pylock.toml")
    assert per_set.status_code == 200 and tomllib.loads(per_set.text)["packages"]


def test_uv_and_pip_install_from_the_saved_lock_in_an_internal_client(mirror, docker_client, client_image,
                                                                        internal_network):
    base = f"http://{mirror.alias}:8080"
    out = run_client(docker_client, client_image, internal_network, f"""
        mkdir /lock
        python3 -c '{FETCH}' {base}/pylock.toml > /lock/pylock.toml
        grep -q 'url = "{base}/packages/' /lock/pylock.toml
        python3 -m venv /uv-env
        uv pip install --quiet --no-config --python /uv-env/bin/python -r /lock/pylock.toml
        /uv-env/bin/pip-audit --version
        python3 -m venv /pip-env
        /pip-env/bin/pip install --quiet --index-url {base}/simple/ --trusted-host {mirror.alias} 'pip>=26.1'
        /pip-env/bin/pip --version
        /pip-env/bin/pip install --quiet --trusted-host {mirror.alias} -r /lock/pylock.toml
        /pip-env/bin/pip-audit --version
    """, with_uv=True)
    assert out.count("pip-audit") == 2, out


def test_several_sets_extras_and_groups_reach_an_image_build(tmp_path):
    """REQUIREMENTS with two sets in sibling folders (a pyproject.toml and a conflicting requirements
    file), EXTRAS, GROUPS."""
    from tests.integration.test_inputs_context import tree_of

    sets = tmp_path / "sets"
    (sets / "team").mkdir(parents=True)
    (sets / "app").mkdir(parents=True)
    (sets / "app" / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0.1"\nrequires-python = ">=3.9"\ndependencies = ["idna>=3.8"]\n'
        '[project.optional-dependencies]\ncli = ["six"]\n[dependency-groups]\ndev = ["packaging"]\n')
    (sets / "team" / "requirements.txt").write_text("idna==3.7\n")
    tree, _ = tree_of(tmp_path, "tree", "--allow", f"fs.read={tmp_path}",
                      REQUIREMENTS=f"{sets}/app/pyproject.toml {sets}/team/requirements.txt", EXTRAS="cli", GROUPS="dev")
    lock = json.loads((tree / "lock.json").read_text())
    assert [(s["name"], s["kind"]) for s in lock["sets"]] == [("app", "pyproject"), ("requirements", "requirements")]
    pins = {t["set"]: t["pins"] for t in lock["targets"]}
    assert set(pins["app"]) == {"idna", "six", "packaging"} and pins["requirements"] == {"idna": "3.7"}
    assert pins["app"]["idna"] != "3.7"
    assert (tree / "locks" / "app" / "pylock.toml").is_file() and (tree / "pylock.toml").is_file()
