"""Downloaded files -> their PEP 740 provenance, verified, beside them in packages/.

A provenance object is the index's record of who published a file: Sigstore
attestations whose certificates name the publisher (a GitHub or GitLab
repository and workflow, a Google service account, a CircleCI project).
pypi-attestations (the PyPA's library, the one PyPI itself verifies with)
checks each attestation against the downloaded file's name and sha256 and
against the publisher the object names, with Sigstore's trust root as the
`sigstore` package ships it (offline: the build makes no Sigstore request).

The object is served back byte for byte as packages/<file>.provenance, so a
client behind the gap can check the file itself with the same library.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import threading
from pathlib import Path

from mirror.core.files import sha256_file, write_atomic
from mirror.core.parallel import each
from mirror.errors import ProvenanceError
from mirror.resolve.lock import Lock, LockedFile
from mirror.settings import FIELDS

log = logging.getLogger(__name__)

POLICIES = FIELDS["provenance"].metadata["choices"]
SUFFIX = ".provenance"
MEDIA_TYPE = "application/vnd.pypi.integrity.v1+json"
# PyPI's objects are a few KB per attestation; a file rarely carries more than two.
MAX_PROVENANCE = 1 << 20
# The publisher fields a person reads first, by publisher kind: (repository, workflow).
_SHOWN = {
    "GitHub": ("repository", "workflow"),
    "GitLab": ("repository", "workflow_filepath"),
    "Google": ("email", None),
    "CircleCI": ("vcs_origin", "pipeline_definition_id"),
}


def fetch_provenance(upstream, url: str) -> bytes:
    """The provenance object at url, through mirror/core/http.py (bounded, retried, credentials by origin)."""
    return upstream.read(url, limit=MAX_PROVENANCE, headers={"Accept": MEDIA_TYPE})


def verify_provenance(path: Path, data: bytes) -> list[dict]:
    """Every publisher whose attestations in `data` verify against the file at `path`.

    Raises ProvenanceError naming the file when the object is malformed or any
    attestation fails (wrong digest, wrong name, a certificate that is not the
    publisher's, a signature that does not hold)."""
    try:
        digest = sha256_file(path)
    except OSError as exc:
        raise ProvenanceError(path.name, f"cannot read the file to verify it: {exc.strerror or exc}") from None
    return verify_digest(path.name, digest, data)


def verify_digest(filename: str, sha256: str, data: bytes) -> list[dict]:
    """verify_provenance for a file known by its name and sha256 (build.py verify has no copy of it)."""
    # Imported here, not at the top: `build.py verify` and `publish` share the CLI and need Sigstore only
    # when an index links provenance.
    from pydantic import ValidationError
    from pypi_attestations import Distribution, Provenance, VerificationError

    try:
        provenance = Provenance.model_validate_json(data)
    except ValidationError as exc:
        raise ProvenanceError(filename, f"not a PEP 740 provenance object ({exc.error_count()} errors: "
                                        f"{exc.errors()[0]['msg']})") from None
    if not provenance.attestation_bundles:
        raise ProvenanceError(filename, "the provenance object holds no attestation bundle")
    try:
        distribution = Distribution(name=filename, digest=sha256)
    except ValidationError as exc:
        raise ProvenanceError(filename, f"not a distribution file name ({exc.errors()[0]['msg']})") from None
    publishers = []
    for bundle in provenance.attestation_bundles:
        if not bundle.attestations:
            raise ProvenanceError(filename, f"a {bundle.publisher.kind} bundle without attestations")
        for attestation in bundle.attestations:
            try:
                attestation.verify(bundle.publisher, distribution, offline=True)
            except VerificationError as exc:
                raise ProvenanceError(filename, f"does not verify against the {bundle.publisher.kind} "
                                                f"publisher it names: {exc}") from None
        publishers.append(publisher_record(bundle.publisher.model_dump(mode="json")))
    return publishers


def publisher_record(raw: dict) -> dict:
    """The publisher as lock.json, the SBOM and the pages carry it: kind, repository, workflow, environment,
    and every field the object gave (so nothing is lost for a kind with other names)."""
    repository_key, workflow_key = _SHOWN.get(raw.get("kind"), ("repository", "workflow"))
    repository = raw.get(repository_key)
    if raw.get("kind") in ("GitHub", "GitLab") and repository and "://" not in repository:
        host = "github.com" if raw["kind"] == "GitHub" else "gitlab.com"
        repository = f"https://{host}/{repository}"
    return {
        "kind": raw.get("kind"),
        "repository": repository,
        "workflow": raw.get(workflow_key) if workflow_key else None,
        "environment": raw.get("environment") or None,
        "claims": {k: v for k, v in sorted(raw.items()) if k != "kind" and v is not None},
    }


def check_policy(lock: Lock, policy: str) -> None:
    """Before any download: `require` fails at once on a file the index gives no provenance for."""
    if policy not in POLICIES:
        raise ProvenanceError("(all files)", f"unknown policy {policy!r}; accepted: {', '.join(POLICIES)}")
    if policy == "require":
        missing = sorted(f.filename for f in lock.files if not f.provenance)
        if missing:
            more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
            raise ProvenanceError(missing[0] + more, "the index publishes none, and the provenance policy "
                                                     "requires one for every file (PROVENANCE=require)")


def verify_all(lock: Lock, packages: Path, indexes, *, policy: str, verified_at: str | None,
               jobs: int = 8) -> Lock:
    """Fetch and verify every file's provenance into packages/<file>.provenance; the lock with the results.

    A lock that already records a provenance object's sha256 (LOCK=...) must get the same object back."""
    check_policy(lock, policy)
    if policy == "off":
        return Lock(lock.index_url, lock.pins, tuple(_without(f) for f in lock.files), lock.sets, lock.indexes,
                    lock.statuses)
    results: dict[str, dict] = {}
    guard = threading.Lock()

    def one(f: LockedFile) -> None:
        data = fetch_provenance(indexes, f.provenance)
        digest = hashlib.sha256(data).hexdigest()
        expected = (f.attestation or {}).get("sha256")
        if expected and expected != digest:
            raise ProvenanceError(f.filename, f"the index now serves a provenance object with sha256 {digest}, "
                                              f"the lock records {expected}")
        publishers = verify_provenance(packages / f.filename, data)
        write_atomic(packages / (f.filename + SUFFIX), data)
        with guard:
            results[f.filename] = {"sha256": digest, "publishers": publishers, "verified-at": verified_at}

    attested = [f for f in lock.files if f.provenance]
    each(jobs, one, ((f,) for f in attested))
    log.info("provenance: %d of %d files carry one, every one verified (Sigstore, offline)",
             len(attested), len(lock.files))
    files = tuple(_with(f, results.get(f.filename)) for f in lock.files)
    return Lock(lock.index_url, lock.pins, files, lock.sets, lock.indexes, lock.statuses)


def _with(f: LockedFile, result: dict | None) -> LockedFile:
    return dataclasses.replace(f, attestation=result) if result else f


def _without(f: LockedFile) -> LockedFile:
    return dataclasses.replace(f, provenance=None, attestation=None)


def check_continuity(previous: dict, lock: Lock) -> None:
    """A refresh: a project whose files carried provenance before and whose new release carries none.

    The sign of a stolen token (an upload from outside the trusted publisher); fails loudly, naming both."""
    before: dict[str, list[tuple[str, str]]] = {}
    for f in (previous.get("lock") or {}).get("files") or []:
        if f.get("provenance"):
            before.setdefault(f["name"], []).append((f["version"], f["filename"]))
    for f in sorted(lock.files):
        if f.provenance or f.name not in before:
            continue
        if any(version == f.version for version, _ in before[f.name]):
            continue  # the same release as before: nothing new was published
        version, filename = sorted(before[f.name])[-1]
        raise ProvenanceError(f.filename, f"{f.name} published provenance before ({filename}), its new release "
                                          f"{f.version} has none: an upload from outside its trusted publisher "
                                          "(a stolen token?); check it with the project before mirroring it")


def summary(lock: Lock, policy: str) -> dict:
    """audit.json's `provenance`: the policy, each verified file with its publishers, the files without."""
    return {
        "policy": policy,
        "verified": [{"filename": f.filename, "name": f.name, "version": f.version, **f.attestation}
                     for f in sorted(lock.files) if f.attestation],
        "without": [f.filename for f in sorted(lock.files) if not f.attestation],
    }
