"""The interpreter environment sdist build backends run in (BUILD_SDIST_METADATA): no network, no secret.

uv runs an sdist's backend for its metadata here (--no-build-isolation), never in a build
environment of its own: that would hold whatever packages the sdist asks the index for, and any
of them runs code (a .pth file) as the interpreter starts, before anything could fence it. Here
every package is build.py's own (hash-pinned in mirror/requirements.txt, the common backends
among them), and the first thing the interpreter does is take its network away (nonet.py): the
backend, and anything it starts, reaches no index, no metadata service, no address at all. uv,
which is not package code, is the only process that talks to the indexes.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from mirror.errors import InputError

_BOOT = Path(__file__).with_name("nonet.py")


def create(root: Path) -> Path:
    """A venv at root whose interpreter has no network from its first line on; its python."""
    made = subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], capture_output=True, text=True)
    python = root / "bin" / "python"
    if made.returncode != 0:
        raise InputError(f"cannot make the build backends' environment in {root}: "
                         f"{(made.stderr.strip().splitlines() or ['venv failed'])[-1]}", option="build_sdist_metadata")
    # Asked before the fence is in: the venv's own site-packages as its interpreter lays it out.
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    shutil.copyfile(_BOOT, site / "_pypi_mirror_nonet.py")
    # .pth files run in name order: the fence first, then build.py's packages (the backends) on the path.
    (site / "000-pypi-mirror-nonet.pth").write_text("import _pypi_mirror_nonet; _pypi_mirror_nonet.install_or_exit()\n")
    ours = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (site / "zzz-pypi-mirror-backends.pth").write_text("".join(f"{path}\n" for path in ours))
    return python
