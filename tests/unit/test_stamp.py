"""mirror/core/stamp.py, and the Dockerfile's runtime stage: nothing in the appliance's layers depends on the clone."""

from __future__ import annotations

import os
import re

from mirror.core import stamp
from mirror.knobs import REPO
from mirror.tree import layers

DOCKERFILE = (REPO / "Dockerfile").read_text()


def test_every_file_and_folder_gets_the_fixed_time_and_a_mode_from_its_executable_bit(tmp_path):
    root = tmp_path / "files"
    (root / "etc" / "conf").mkdir(parents=True)
    (root / "etc" / "conf" / "nginx.conf").write_text("x")
    (root / "hook.sh").write_text("#!/bin/sh\n")
    os.chmod(root / "etc" / "conf" / "nginx.conf", 0o664)  # a clone made under umask 002
    os.chmod(root / "hook.sh", 0o775)
    os.chmod(root / "etc", 0o775)
    (root / "link").symlink_to("hook.sh")
    assert stamp.main([str(root)]) == 0
    for path in [root, root / "etc", root / "etc" / "conf", root / "etc" / "conf" / "nginx.conf", root / "hook.sh"]:
        assert path.stat().st_mtime == stamp.NO_TIME == 1, path
    assert os.lstat(root / "link").st_mtime == 1
    assert oct((root / "etc" / "conf" / "nginx.conf").stat().st_mode & 0o7777) == "0o644"
    assert oct((root / "hook.sh").stat().st_mode & 0o7777) == "0o755"
    assert oct((root / "etc").stat().st_mode & 0o7777) == "0o755"


def test_a_missing_root_is_one_line(tmp_path, capsys):
    assert stamp.main([str(tmp_path / "nope")]) == 1
    assert capsys.readouterr().err == f"pypi-mirror: error: stamp: not a folder: {tmp_path / 'nope'}\n"


def stage(name: str) -> str:
    return re.search(rf"^FROM \S+ AS {name}\n(.*?)(?=^FROM |\Z)", DOCKERFILE, re.M | re.S).group(1)


def test_the_runtime_stage_runs_no_command_and_copies_stamped_folders_only():
    mirror = stage("mirror")
    # A RUN's layer holds /etc (and on the official base a whiteout) with the wall clock.
    assert not re.search(r"^RUN", mirror, re.M)
    copies = re.findall(r"^COPY (.*)$", mirror, re.M)
    assert copies[:2] == ["--from=appliance-files /files/ /", "--from=builder /out/map/ /"]
    assert len(copies) == 2 + len(layers.ORDER)
    assert all(c.startswith("--from=") and c.endswith(" /") for c in copies)
    assert 'RUN ["python3", "/stamp.py", "/files"]' in stage("appliance-files")
    assert "python3 -m mirror.core.stamp /out/map;" in stage("builder")
