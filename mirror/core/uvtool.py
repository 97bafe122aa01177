"""The uv tool, as every stage that runs it needs it: where it is, what it sees, what it said.

Input sets run `uv export` (uv.lock), resolution runs `uv pip compile`, the closure
check runs it again: all through these few names, so uv is found, fenced and
quoted one way.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from uv import find_uv_bin

from mirror.core.http import mask
from mirror.errors import InputError

_UV_TRANSPORT = {"UV_HTTP_TIMEOUT", "UV_HTTP_RETRIES", "UV_CONCURRENT_DOWNLOADS", "UV_REQUEST_TIMEOUT"}
# What uv may see of the build's environment: where things are, the locale, and how to reach the
# network. Never the build's own knobs (PYPI_MIRROR_INDEX_URL carries credentials), NETRC, TWINE_*,
# or anything else a host happens to export: uv gets its index credentials in its index URLs only.
_UV_PASSED = {"PATH", "HOME", "TMPDIR", "LANG", "LANGUAGE", "TZ", "SSL_CERT_FILE", "SSL_CERT_DIR",
              "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy",
              "no_proxy", "SYSTEMROOT"}

# The running interpreter as uv's reference Python: --python-version and
# --python-platform describe the target, and uv need not probe every
# interpreter on the machine (a second per run on a host with pyenv shims).
def uv_options(python: str = sys.executable) -> tuple[str, ...]:
    return ("--python", python, "--no-config", "--no-header", "--no-annotate", "--color", "never", "--quiet")


UV_OPTIONS = uv_options()


def condense(stderr: str) -> str:
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


def find_uv() -> str:
    """The uv binary the uv package installed beside this interpreter (its own finder), else uv on PATH."""
    try:
        return find_uv_bin()
    except FileNotFoundError:
        found = shutil.which("uv")
    if not found:
        raise InputError("uv not found: install the build's requirements (mirror/requirements.txt)")
    return found


def uv_env(ca_bundle: str | None, cache_dir: Path | None) -> dict:
    # Resolution sees only what the user gave: no UV_* or PIP_* setting of the
    # host (UV_EXTRA_INDEX_URL, UV_CONSTRAINT, PIP_INDEX_URL, ...) reaches uv, and no
    # secret: an allow-list (_UV_PASSED), not a deny-list.
    # Kept: how uv talks to the network (timeouts, retries, parallelism), never what it resolves.
    env = {k: v for k, v in os.environ.items() if k in _UV_PASSED or k.startswith("LC_") or k in _UV_TRANSPORT}
    # uv reads ~/.netrc by itself otherwise: credentials reach it in the index URLs, bound to their index.
    env["NETRC"] = os.devnull
    # The target's interpreter is described, never fetched.
    env["UV_PYTHON_DOWNLOADS"] = "never"
    if ca_bundle:
        env["SSL_CERT_FILE"] = ca_bundle
    if cache_dir:
        env["UV_CACHE_DIR"] = str(cache_dir / "uv")
    return env
