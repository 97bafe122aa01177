"""Requirements + targets -> pins, one resolution per target.

uv resolves: it evaluates environment markers and Requires-Python for the
target it is told (not for the machine running the build), reads metadata
with range requests instead of downloading whole wheels, and backtracks like
pip. Running it once per target keeps each target's answer exactly what an
installer on that target would choose.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from packaging.utils import NormalizedName, canonicalize_name

from mirror.errors import InputError, ResolutionError
from mirror.targets import Target
from mirror.upstream import mask

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


@dataclasses.dataclass(frozen=True, order=True)
class Pin:
    name: NormalizedName
    version: str

    def __str__(self) -> str:
        return f"{self.name}=={self.version}"


def resolve(
    requirements: Path,
    targets: list[Target],
    *,
    index_url: str,
    ca_bundle: str | None = None,
    cache_dir: Path | None = None,
    preferences: dict[str, dict[str, str]] | None = None,
    jobs: int = 4,
) -> dict[Target, list[Pin]]:
    """The pins each target needs, sorted, for every target.

    preferences, by target name: pins to keep where they still satisfy the
    requirements (a refresh that only adds what is new).
    """
    uv = _find_uv()
    env = _uv_env(ca_bundle, cache_dir)
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {
            t: pool.submit(_resolve_one, uv, env, requirements, t, index_url, (preferences or {}).get(str(t), {}))
            for t in targets
        }
        return {t: f.result() for t, f in futures.items()}


def _resolve_one(uv: str, env: dict, requirements: Path, target: Target, index_url: str,
                 preferred: dict[str, str]) -> list[Pin]:
    with tempfile.TemporaryDirectory(prefix="pypi-mirror-resolve-") as work:
        # uv keeps the pins already in its output file unless they no longer fit.
        output = Path(work) / "pins.txt"
        output.write_text("".join(f"{name}=={version}\n" for name, version in sorted(preferred.items())))
        command = [
            uv, "pip", "compile", str(requirements),
            "--python-version", target.python,
            "--python-platform", target.uv_platform,
            "--index-url", index_url,
            "--output-file", str(output),
            "--no-config", "--no-header", "--no-annotate", "--color", "never", "--quiet",
        ]
        result = subprocess.run(command, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise ResolutionError(str(target), _condense(result.stderr))
        return parse_pins(output.read_text())


def parse_pins(text: str) -> list[Pin]:
    """`name==version` lines of a compiled requirements file (comments, hashes, markers ignored)."""
    pins = set()
    for line in text.splitlines():
        match = _PIN.match(line.strip())
        if match:
            pins.add(Pin(canonicalize_name(match.group(1)), match.group(2)))
    return sorted(pins)


def _condense(stderr: str) -> str:
    """uv's error and its first and last cause on one line, credentials masked.

    The first cause is what went wrong in the user's terms ("there is no
    version of requests==999"), the last is the root ("Connection refused").
    """
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("warning:")]
    errors = [line.removeprefix("error:").strip() for line in lines if line.startswith("error:")]
    causes = [line.removeprefix("cause:").strip() for line in lines if line.startswith("cause:")]
    # A hint can hold the real reason ("could not be queried due to a lack of
    # valid authentication credentials (401 Unauthorized)").
    hints = [line.removeprefix("hint:").strip() for line in lines if line.startswith("hint:")]
    if not errors:
        return mask(" ".join(lines)[:500]) or "the resolver failed without a message"
    parts = [errors[0], *dict.fromkeys(causes[:1] + causes[-1:]), *hints[:1]]
    return mask(": ".join(p.rstrip(".:") for p in parts))


def _find_uv() -> str:
    # Next to the running interpreter first: that is the venv the build installed.
    local = Path(sys.executable).parent / "uv"
    found = str(local) if local.exists() else shutil.which("uv")
    if not found:
        raise InputError("uv not found: install the build's requirements (mirror/requirements.txt)")
    return found


def _uv_env(ca_bundle: str | None, cache_dir: Path | None) -> dict:
    env = dict(os.environ)
    # The target's interpreter is described, never fetched.
    env["UV_PYTHON_DOWNLOADS"] = "never"
    if ca_bundle:
        env["SSL_CERT_FILE"] = ca_bundle
    if cache_dir:
        env["UV_CACHE_DIR"] = str(cache_dir / "uv")
    return env
