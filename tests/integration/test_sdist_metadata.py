"""BUILD_SDIST_METADATA in the image build: an sdist-only release resolves through its setuptools backend.

docopt 0.6.2 has no wheel and no static metadata (PKG-INFO 1.1): only running
its setup.py tells what it needs. In the builder, that runs in the fenced
environment (mirror/resolve/sandbox.py): the build's own pinned setuptools,
a seccomp filter that leaves it no network, as the upstream tests show
against a hostile backend; here it is the real builder image and BuildKit.
"""

from __future__ import annotations

import json
import secrets

from tests.integration.appliance import ONE_TARGET, plain_bake, tree_of


def test_an_sdist_only_release_resolves_through_its_backend_in_the_builder(tmp_path):
    # A line of its own per run: the build step runs, never answers from an earlier run's cache.
    (tmp_path / "requirements.txt").write_text(f"# run {secrets.token_hex(8)}\ndocopt==0.6.2\n")
    env = {"REQUIREMENTS": str(tmp_path / "requirements.txt"), "INCLUDE_SDISTS": "1"}
    refused = plain_bake("wheelhouse", "--set", f"wheelhouse.output=type=local,dest={tmp_path / 'refused'}",
                         "--allow", f"fs.read={tmp_path}", "--allow", f"fs.write={tmp_path}", **ONE_TARGET, **env)
    assert refused.returncode != 0
    assert "docopt" in refused.stderr and "BUILD_SDIST_METADATA" in refused.stderr
    tree, log = tree_of(tmp_path, "built", "--allow", f"fs.read={tmp_path}", BUILD_SDIST_METADATA="1", **env)
    assert "with no network and the build's own pinned backends" in log
    lock = json.loads((tree / "lock.json").read_text())
    assert any(f["filename"] == "docopt-0.6.2.tar.gz" for f in lock["files"]), lock["files"]
    assert (tree / "projects" / "docopt").is_dir()
