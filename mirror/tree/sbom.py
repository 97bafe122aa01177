"""The mirrored distributions -> sbom.cdx.json, a CycloneDX 1.6 JSON SBOM.

One component per release (name, version) with its purl; each of its files
is an external reference carrying the file's hash, as cyclonedx-py writes
locked files: a component's own `hashes` would have to pick one of a
release's several wheels. URLs are relative to the SBOM, like every href in
the tree. Same lock, same bytes: the serial number derives from the lock's
hash and the timestamp is the manifest's build time.
"""

from __future__ import annotations

import datetime
import json
import urllib.parse
import uuid
from collections import defaultdict
from pathlib import Path

from mirror import __version__
from mirror.core.files import sha256_file, write_atomic
from mirror.resolve.lock import Lock, LockedFile
from mirror.tree.index import PACKAGES
from mirror.tree.manifest import format_time

SBOM_NAME = "sbom.cdx.json"
SPEC_VERSION = "1.6"
# Fixed namespace for serial numbers: uuid5(this, lock sha256).
_SERIAL_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://pypi-mirror/sbom")


def purl(name: str, version: str) -> str:
    # Names are already normalized (PEP 503), as the purl spec asks for pypi.
    return f"pkg:pypi/{urllib.parse.quote(name, safe='')}@{urllib.parse.quote(version, safe='')}"


def serial_number(lock_sha256: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_SERIAL_NAMESPACE, lock_sha256)}"


def render_sbom(files: list[LockedFile], metadata_sha256: dict[str, str], *, lock_sha256: str,
                built: datetime.datetime | None) -> str:
    """metadata_sha256: wheel filename -> sha256 of its PEP 658 .metadata file in packages/."""
    releases: dict[tuple[str, str], list[LockedFile]] = defaultdict(list)
    for f in files:
        releases[(f.name, f.version)].append(f)
    components = []
    for (name, version), release in sorted(releases.items()):
        references = []
        for f in sorted(release):
            references.append(_reference("distribution" if f.filename.endswith(".whl") else "source-distribution",
                                         f.filename, f.sha256, f.filename))
            if f.filename in metadata_sha256:
                references.append(_reference("other", f"{f.filename}.metadata", metadata_sha256[f.filename],
                                             f"core metadata (PEP 658) of {f.filename}"))
            if f.attestation:
                references.append(_reference("attestation", f"{f.filename}.provenance", f.attestation["sha256"],
                                             f"PEP 740 provenance of {f.filename}, verified: "
                                             + "; ".join(map(_publisher_text, f.attestation["publishers"]))))
        ref = purl(name, version)
        component = {"type": "library", "bom-ref": ref, "name": name, "version": version, "purl": ref,
                     "externalReferences": references}
        properties = _provenance_properties(release)
        if properties:
            component["properties"] = properties
        components.append(component)
    metadata: dict = {"tools": {"components": [{"type": "application", "name": "pypi-mirror", "version": __version__}]}}
    if built:
        metadata["timestamp"] = format_time(built)
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": serial_number(lock_sha256),
        "version": 1,
        "metadata": metadata,
        "components": components,
    }
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def _publisher_text(publisher: dict) -> str:
    parts = [publisher["kind"], publisher.get("repository"), publisher.get("workflow"),
             publisher.get("environment") and f"environment {publisher['environment']}"]
    return " ".join(p for p in parts if p)


def _provenance_properties(release: list[LockedFile]) -> list[dict]:
    """The verified publishers of a release's files, each fact once (a release's files share a publisher)."""
    found: dict[tuple[str, str], None] = {}
    for f in sorted(release):
        if not f.attestation:
            continue
        found[("pypi-mirror:provenance:verified-at", f.attestation.get("verified-at") or "")] = None
        for publisher in f.attestation["publishers"]:
            for key in ("kind", "repository", "workflow", "environment"):
                if publisher.get(key):
                    found[(f"pypi-mirror:provenance:publisher-{key}", publisher[key])] = None
    return [{"name": n, "value": v} for n, v in sorted(found) if v]


def _reference(kind: str, filename: str, sha256: str, comment: str) -> dict:
    return {"type": kind, "url": f"{PACKAGES}/{urllib.parse.quote(filename)}", "comment": comment,
            "hashes": [{"alg": "SHA-256", "content": sha256}]}


def write_sbom(lock: Lock, root: Path, *, built: datetime.datetime | None) -> None:
    packages = root / PACKAGES
    metadata = {f.filename: sha256_file(packages / f"{f.filename}.metadata")
                for f in lock.files if (packages / f"{f.filename}.metadata").is_file()}
    lock_sha256 = lock.sha256
    text = render_sbom(list(lock.files), metadata, lock_sha256=lock_sha256, built=built)
    write_atomic(root / SBOM_NAME, text.encode("utf-8"))
