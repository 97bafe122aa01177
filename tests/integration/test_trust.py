"""Issue 22 through the real appliance: the 1.4 pages read by pip, uv and `build.py verify`, and a file
re-verified behind the gap by pypi-attestations from the appliance's own provenance copy.

The tree is built on the host against the stand-in upstream (tests/upstream/fake_index.py: real signed
files and their real provenance objects) and served by the session image's nginx with that tree mounted
at /srv/pypi: the image under test, its configuration, this tree. Clients run on an `--internal` network.
"""

from __future__ import annotations

import importlib.metadata
import io
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from mirror.cli import main
from tests.integration.appliance import REPO, run_client, running_mirror
from tests.upstream.fake_index import FakeIndex, real

WHEEL = "circleci_sign_publish_example-0.0.1.dev137-py3-none-any.whl"
PLAIN = "rfc8785-0.1.2-py3-none-any.whl"
SDIST = "pypi_attestations-0.0.19.tar.gz"
REPOSITORY = "https://github.com/trailofbits/pypi-attestations"
INTEGRITY = "application/vnd.pypi.integrity.v1+json"


@pytest.fixture(scope="module")
def trust_tree(tmp_path_factory) -> tuple[Path, Path]:
    """(tree, nginx map) built by the real CLI from a stand-in upstream serving Simple API 1.4."""
    work = tmp_path_factory.mktemp("trust")
    files = [real(WHEEL), real(PLAIN), real(SDIST)]
    with FakeIndex(files, api_version="1.4", statuses={"rfc8785": ("archived", "no longer maintained")}) as index:
        lock = work / "pylock.toml"
        sdist = index.dists[SDIST]
        # The sdist's own dependencies are not on the stand-in: it comes in through a lock, not resolved.
        lock.write_text('lock-version = "1.0"\ncreated-by = "test"\n\n[[packages]]\nname = "pypi-attestations"\n'
                        f'version = "0.0.19"\nsdist = {{ name = "{SDIST}", url = "{index.file_url(SDIST)}", '
                        f'hashes = {{ sha256 = "{sdist.sha256}" }} }}\n')
        requirements = work / "requirements.txt"
        requirements.write_text("circleci-sign-publish-example\nrfc8785\n")
        code = main(["build", "-r", f"{requirements} {lock}", "-o", str(work / "tree"), "--index-url", index.url,
                     "--python-versions", "3.11", "--platforms", "manylinux_x86_64", "--include-sdists",
                     "--cache-dir", str(work / "cache"), "--vuln-db-url", "off",
                     "--nginx-map", str(work / "projects.map")])
    assert code == 0
    return work / "tree", work / "projects.map"


@pytest.fixture(scope="module")
def trust_mirror(mirror_image, internal_network, trust_tree):
    tree, projects_map = trust_tree
    with running_mirror(mirror_image, internal_network, volumes={
            str(tree): "/srv/pypi", str(projects_map): "/etc/pypi-mirror/nginx/projects.map"}) as mirror:
        yield mirror


def test_the_appliance_serves_1_4_pages_and_the_provenance_as_the_public_index_types_it(trust_mirror, trust_tree):
    page = trust_mirror.get("/simple/circleci-sign-publish-example/",
                            headers={"Accept": "application/vnd.pypi.simple.v1+json"}).json()
    assert page["meta"]["api-version"] == "1.4"
    link = page["files"][0]["provenance"]
    assert link == f"../../packages/{WHEEL}.provenance"
    served = trust_mirror.get(f"/packages/{WHEEL}.provenance")
    assert served.status_code == 200
    assert served.headers["Content-Type"] == INTEGRITY
    assert served.headers["Cache-Control"] == trust_mirror.get(f"/packages/{WHEEL}").headers["Cache-Control"]
    assert "immutable" in served.headers["Cache-Control"]
    assert served.content == (trust_tree[0] / "packages" / f"{WHEEL}.provenance").read_bytes()
    archived = trust_mirror.get("/simple/rfc8785/", headers={"Accept": "text/html"}).text
    assert '<meta name="pypi:project-status" content="archived">' in archived


def test_verify_reports_740_and_792_as_pass(trust_mirror):
    result = subprocess.run([sys.executable, str(REPO / "build.py"), "verify", trust_mirror.url, "--install", ""],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    lines = {line.split()[1] + " " + line.split()[2]: line for line in result.stdout.splitlines()
             if line.startswith(("PASS", "FAIL", "ABSENT")) and line.split()[1] == "PEP"}
    assert lines["PEP 740"].startswith("PASS") and ("2 files link a provenance; 2 read as PEP 740 objects, 2 verified against the downloaded files "
                                           "(Sigstore, offline)") in (
        lines["PEP 740"]), result.stdout
    assert lines["PEP 792"].startswith("PASS") and "1 with a status other than active: rfc8785 archived" in (
        lines["PEP 792"]), result.stdout
    assert result.returncode == 0, result.stdout + result.stderr


def client_libraries() -> bytes:
    """pypi-attestations and everything it imports, copied from the test venv (the client has no way
    out, and the appliance under test does not mirror it): a tar for /opt/pa."""
    wanted, seen = ["pypi-attestations"], set()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        while wanted:
            name = canonicalize_name(wanted.pop())
            if name in seen:
                continue
            seen.add(name)
            dist = importlib.metadata.distribution(name)
            for requirement in dist.requires or []:
                parsed = Requirement(requirement)
                if parsed.marker is None or parsed.marker.evaluate({"extra": ""}):
                    wanted.append(parsed.name)
            for file in dist.files or []:
                path = Path(dist.locate_file(file))
                if path.is_file() and ".dist-info" not in str(file) and not str(file).startswith(".."):
                    tar.add(path, arcname=f"opt/pa/{file}")
    return buffer.getvalue()


def test_an_air_gapped_client_reverifies_a_file_with_the_appliance_alone(trust_mirror, docker_client, client_image,
                                                                         internal_network):
    python = subprocess.run(["docker", "run", "--rm", "--entrypoint", "python3", client_image, "-c",
                             "import sys; print('%d.%d' % sys.version_info[:2])"],
                            capture_output=True, text=True, check=True).stdout.strip()
    assert python == "%d.%d" % sys.version_info[:2], (
        f"the client image runs Python {python}, the test venv {sys.version.split()[0]}: the copied "
        "pypi-attestations (compiled parts) would not load")
    base = f"http://{trust_mirror.alias}:8080"
    script = f"""
        tar -xf /libs.tar -C /
        export PYTHONPATH=/opt/pa
        cd /tmp
        python3 -c 'import urllib.request as u; [u.urlretrieve("{base}/packages/" + f, f) for f in ("{SDIST}", "{WHEEL}")]'
        python3 -c 'import urllib.request as u; u.urlretrieve("{base}/packages/{SDIST}.provenance", "sdist.provenance")'
        python3 -c 'import urllib.request as u; u.urlretrieve("{base}/packages/{WHEEL}.provenance", "wheel.provenance")'
        python3 -m pypi_attestations verify pypi --offline --provenance-file sdist.provenance \\
            --repository {REPOSITORY} {SDIST} 2>&1
        echo "GOOD: $?"
        # The wrong repository, and a provenance of another file: both refused.
        if python3 -m pypi_attestations verify pypi --offline --provenance-file sdist.provenance \\
            --repository https://github.com/someone/else {SDIST} > wrong.log 2>&1; then echo "WRONG-REPO: 0"; \\
            else echo "WRONG-REPO: refused"; fi
        cp {WHEEL} renamed-{SDIST}
        if python3 -m pypi_attestations verify pypi --offline --provenance-file wheel.provenance \\
            --repository {REPOSITORY} {SDIST} > other.log 2>&1; then echo "OTHER: 0"; else echo "OTHER: refused"; fi
    """
    files = {"/libs.tar": client_libraries()}
    out = run_client(docker_client, client_image, internal_network, script, files=files)
    assert "GOOD: 0" in out, out
    assert re.search(r"OK: .*pypi_attestations-0\.0\.19\.tar\.gz", out), out
    assert "WRONG-REPO: refused" in out and "OTHER: refused" in out, out


def test_pip_and_uv_install_from_the_1_4_pages(trust_mirror, docker_client, client_image, internal_network):
    index = f"http://{trust_mirror.alias}:8080/simple/"
    script = f"""
        python3 -m venv /tmp/pip
        /tmp/pip/bin/pip install --quiet --index-url {index} --trusted-host {trust_mirror.alias} \\
            circleci-sign-publish-example rfc8785
        /tmp/pip/bin/python -c 'import circleci_sign_publish_example, rfc8785; print("pip-ok")'
        uv venv --quiet /tmp/uv
        uv pip install --quiet --python /tmp/uv/bin/python --index-url {index} circleci-sign-publish-example rfc8785
        /tmp/uv/bin/python -c 'import circleci_sign_publish_example, rfc8785; print("uv-ok")'
    """
    out = run_client(docker_client, client_image, internal_network, script, with_uv=True)
    assert "pip-ok" in out and "uv-ok" in out


def test_the_provenance_is_behind_the_same_auth_as_its_file(mirror_image, internal_network, trust_tree):
    tree, projects_map = trust_tree
    with running_mirror(mirror_image, internal_network, MIRROR_BASIC_AUTH="alice:s3cret", volumes={
            str(tree): "/srv/pypi", str(projects_map): "/etc/pypi-mirror/nginx/projects.map"}) as mirror:
        for path in (f"/packages/{WHEEL}", f"/packages/{WHEEL}.provenance"):
            assert mirror.get(path).status_code == 401
            answer = mirror.get(path, auth=("alice", "s3cret"))
            assert answer.status_code == 200
        assert answer.headers["Content-Type"] == INTEGRITY
