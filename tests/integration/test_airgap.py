"""Air gap via docker save: scripts/bundle on the build side, verify-bundle on the far side.

The docs/airgap.md recipe, step by step: bundle the image, remove it, verify and load
the bundle, run it, install pip-audit from a client with no way out. The image
is a retagged copy of the session's appliance, so removing it only drops that
tag (the layers stay for the other tests; `docker load` brings the tag back).
"""

from __future__ import annotations

import shutil
import subprocess
import uuid

import pytest

from tests.integration.appliance import REPO, run_client, running_mirror


def sh(*args, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], cwd=REPO, capture_output=True, text=True)
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(map(str, args))} failed ({result.returncode}):\n{result.stderr[-3000:]}", pytrace=False)
    return result


@pytest.fixture(scope="module")
def bundle(mirror_image, tmp_path_factory):
    """scripts/bundle IMAGE OUT_DIR, then the image is removed."""
    tag = f"airgap-{uuid.uuid4().hex[:8]}"
    image = f"pypi-mirror:{tag}"
    out = tmp_path_factory.mktemp("airgap") / "bundle"
    sh("docker", "tag", mirror_image, image)
    try:
        sh(REPO / "scripts" / "bundle", image, out)
        sh("docker", "rmi", image)
        yield image, tag, out
    finally:
        sh("docker", "rmi", image, check=False)


def test_bundle_holds_the_tarball_a_manifest_of_every_file_and_checksums(bundle):
    image, tag, out = bundle
    assert sorted(p.name for p in out.iterdir()) == [
        "BLOBS", "IMAGE", "MANIFEST", "SHA256SUMS", f"pypi-mirror-{tag}.tar.gz", "verify-bundle"]
    manifest = dict(reversed(line.split("  ", 1)) for line in (out / "MANIFEST").read_text().splitlines())
    assert "lock.json" in manifest and "simple/pip-audit/index.html" in manifest
    wheels = [path for path in manifest if path.startswith("packages/pip_audit-") and path.endswith(".whl")]
    assert wheels, sorted(manifest)[:20]
    sums = (out / "SHA256SUMS").read_text()
    assert f"  pypi-mirror-{tag}.tar.gz\n" in sums and "  MANIFEST\n" in sums
    # The standard tool agrees with the format.
    assert subprocess.run(["sha256sum", "--check", "--strict", "--quiet", "SHA256SUMS"], cwd=out).returncode == 0


def test_verified_loaded_bundle_serves_pip_audit_to_an_air_gapped_client(
    bundle, docker_client, client_image, internal_network
):
    image, _, out = bundle
    assert sh("docker", "image", "inspect", image, check=False).returncode != 0, "the image should be gone"

    result = sh(out / "verify-bundle", "--load", out)
    assert "match MANIFEST" in result.stderr

    with running_mirror(image, internal_network) as mirror:
        run_client(docker_client, client_image, internal_network, f"""
            python3 -m venv /v
            /v/bin/pip install --quiet --index-url http://{mirror.alias}:8080/simple/ \\
                --trusted-host {mirror.alias} pip-audit
            /v/bin/pip-audit --version
        """)


def test_one_flipped_byte_fails_verification_naming_the_file(bundle, tmp_path):
    _, tag, out = bundle
    damaged = tmp_path / "bundle"
    shutil.copytree(out, damaged)
    tarball = damaged / f"pypi-mirror-{tag}.tar.gz"
    with tarball.open("r+b") as f:
        f.seek(tarball.stat().st_size // 2)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0x01]))

    result = sh(damaged / "verify-bundle", damaged, check=False)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"verify-bundle: error: {tarball}: sha256 mismatch"), lines[0]


def test_a_file_missing_from_the_bundle_is_named(bundle, tmp_path):
    _, _, out = bundle
    damaged = tmp_path / "bundle"
    shutil.copytree(out, damaged)
    (damaged / "MANIFEST").unlink()
    result = sh(damaged / "verify-bundle", damaged, check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == f"verify-bundle: error: {damaged}/MANIFEST is missing (listed in SHA256SUMS)"
