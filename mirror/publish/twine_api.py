"""build.py publish's use of twine, the library users already configure for uploads.

Where to upload and as whom is twine's answer: the URL or `--repository NAME` of
~/.pypirc (or --config-file), TWINE_USERNAME/TWINE_PASSWORD/TWINE_REPOSITORY/
TWINE_REPOSITORY_URL/TWINE_CERT, then keyring; netrc after those, as this command
always read it. Each file passes twine's own package checks (its metadata parsed and
validated the way `twine upload` does) and is sent by twine's Repository.

twine is an optional dependency of this command alone (pyproject: the `publish`
extra); the image's builder never needs it, and publishing without it is one line.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import tarfile
import threading
import zipfile
from pathlib import Path

import requests
import requests.adapters
from packaging.utils import canonicalize_name

from mirror.errors import DistributionError, InputError
from mirror.core.http import netrc_credentials, origin

try:
    from twine import exceptions as twine_errors
    from twine.commands.upload import skip_upload
    from twine.package import PackageFile
    from twine.settings import Settings as TwineSettings
except ImportError:  # not installed: publish() says how to install it, nothing else needs it
    TwineSettings = None

INSTALL = "build.py publish uploads through twine, which is not installed: pip install 'twine>=6'"
TIMEOUT = (10, 300)  # a big wheel into a slow index: the read timeout covers the server's processing
CREDENTIAL_SOURCES = "TWINE_USERNAME/TWINE_PASSWORD, ~/.pypirc, keyring or netrc"
# Other people's projects are what a mirror holds: never re-uploaded under the user's name to PyPI.
PYPI_HOSTS = {"upload.pypi.org", "test.pypi.org", "pypi.org", "pypi.python.org", "testpypi.python.org"}


@dataclasses.dataclass(frozen=True)
class Target:
    url: str  # where files are POSTed
    settings: "TwineSettings"
    credentials: tuple[str, str] | None  # None: anonymous
    ca_file: str | None
    client_cert: str | None


def require_twine() -> None:
    if TwineSettings is None:
        raise InputError(INSTALL)


def resolve(url: str | None, *, repository: str | None = None, config_file: str | None = None,
            ca_file: str | None = None) -> Target:
    """The upload URL, credentials and certificates as twine resolves them for these options."""
    require_twine()
    if not (url or repository or os.environ.get("TWINE_REPOSITORY_URL") or os.environ.get("TWINE_REPOSITORY")):
        # twine's default is PyPI: never the place for a mirror's files, so a target is always named.
        raise InputError("publish: no index named: give its URL, --repository-url URL or --repository NAME "
                         "(a ~/.pypirc section), or TWINE_REPOSITORY_URL / TWINE_REPOSITORY")
    parser = argparse.ArgumentParser(add_help=False)
    # twine's own options: their TWINE_* environment defaults are read here, twine's way.
    TwineSettings.register_argparse_arguments(parser)
    argv = ["--non-interactive", "--disable-progress-bar"]  # never a prompt: this runs in CI and threads
    for option, value in (("--repository-url", url), ("--repository", repository),
                          ("--config-file", config_file), ("--cert", ca_file)):
        if value:
            argv += [option, value]
    args = parser.parse_args(argv)  # in this process: nothing here reaches a command line
    settings = _settings(args)
    target_url = str(settings.repository_config["repository"])
    if origin(target_url)[1] in PYPI_HOSTS:
        raise InputError(f"publish into {target_url}: a mirror holds other people's projects; "
                         "publish into your own index, not PyPI")
    found = _twine_credentials(settings)
    if found is None or found[1] is None:
        netrc = netrc_credentials(target_url, default_entry=True)  # this one index only (mirror/core/http.py)
        if netrc and (found is None or netrc[0] == found[0]):
            found = netrc
    if found is not None and found[1] is None:
        raise InputError(f"publish into {target_url}: user {found[0]} but no password in {CREDENTIAL_SOURCES}")
    # The answer, given back to twine so that its Repository never looks (or prompts) again.
    user, password = found or ("", "")
    settings = _settings(argparse.Namespace(**{**vars(args), "username": user, "password": password}))
    return Target(target_url, settings, found, settings.cacert, settings.client_cert)


def _settings(args: argparse.Namespace) -> "TwineSettings":
    try:
        return TwineSettings.from_argparse(argparse.Namespace(**vars(args)))
    except twine_errors.TwineException as exc:  # e.g. no such section in .pypirc: twine's words, first line
        raise InputError(f"publish: {str(exc).strip().splitlines()[0]}") from None


def _twine_credentials(settings: "TwineSettings") -> tuple[str, str | None] | None:
    """(user, password or None) from TWINE_*, .pypirc, keyring; None when twine finds no user."""
    try:
        user = settings.username
    except twine_errors.NonInteractive:
        return None
    if not user:
        return None
    try:
        return user, settings.password
    except twine_errors.NonInteractive:
        return user, None


def package(path: Path, name: str, sha256: str) -> "PackageFile":
    """The file as twine uploads it, after twine's checks of its metadata; its name and hash the lock's."""
    try:
        found = PackageFile.from_filename(str(path), None)
    except twine_errors.TwineException as exc:
        raise DistributionError(path.name, f"twine refuses it: {exc}") from None
    except (OSError, ValueError, zipfile.BadZipFile, tarfile.TarError) as exc:
        raise DistributionError(path.name, f"not a readable distribution: {exc}") from None
    named = found.metadata_dictionary()["name"]  # (twine 6.0's metadata is no dict; this is, in 6 and 7)
    if canonicalize_name(named) != name:
        raise DistributionError(path.name, f"its metadata names {named!r}, the lock {name}")
    if found.sha2_digest != sha256:  # changed since mirror_files() hashed it
        raise DistributionError(path.name, f"sha256 {found.sha2_digest}, the lock says {sha256}")
    return found


def already_there(response: requests.Response, found: "PackageFile") -> bool:
    """twine's --skip-existing reading of a refusal: the index says it has this file."""
    return skip_upload(response, True, found)


class _Timeouts(requests.adapters.HTTPAdapter):
    """twine sends without a timeout: a stalled index would hang the publish."""

    def send(self, request, timeout=None, **kwargs):
        return super().send(request, timeout=timeout or TIMEOUT, **kwargs)


class Uploader:
    """twine's Repository, one per thread: each has its own requests session, so the parallel
    uploads share no connection state (twine's API is used as documented, one file per call)."""

    def __init__(self, target: Target, pool_size: int):
        self.target, self.pool_size = target, pool_size
        self.local = threading.local()
        self.lock = threading.Lock()
        self.repositories: list = []
        # twine says "Retry 1 of 1" for every 5xx; publish's own retries (with backoff) say it once.
        logging.getLogger("twine.repository").setLevel(logging.ERROR)

    def upload(self, found: "PackageFile") -> requests.Response:
        repository = getattr(self.local, "repository", None)
        if repository is None:
            repository = self.target.settings.create_repository()
            adapter = _Timeouts(pool_connections=1, pool_maxsize=1)
            repository.session.mount("https://", adapter)
            repository.session.mount("http://", adapter)
            self.local.repository = repository
            with self.lock:
                self.repositories.append(repository)
        # One attempt: publish retries 5xx and dropped connections with backoff (mirror/core/http.py).
        return repository.upload(found, max_redirects=1)

    def close(self) -> None:
        for repository in self.repositories:
            repository.close()
