"""The build, stage by stage: requirements or lock -> a finished tree in `out`.

The tree is assembled in a sibling folder and moved into place only when
every stage succeeded: a failed build leaves the previous tree (or nothing).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import shutil
import time
from pathlib import Path

from packaging.utils import canonicalize_name

from mirror.advisories.audit import audit
from mirror.advisories.vulndb import load_export, write_osv_tree
from mirror.core.files import escapes, write_atomic
from mirror.core.http import mask, strip_credentials
from mirror.core.uvtool import find_uv, uv_env
from mirror.errors import InputError, ProjectStatusError, ResolutionError, UpstreamError
from mirror.fetch.download import download
from mirror.fetch.provenance import check_continuity, check_policy, summary, verify_all
from mirror.inputs.pylock import pylock_documents
from mirror.inputs.sources import InputSet, read_sets, split_paths
from mirror.inputs.targets import parse_targets
from mirror.resolve.closure import check_closure
from mirror.resolve.lock import Lock, read_lock
from mirror.resolve.resolve import resolve
from mirror.resolve.select import check_quarantine, select
from mirror.settings import FILE_INPUTS, Settings, spell
from mirror.tree.changes import compare, read_previous, write_changes
from mirror.tree.index import PACKAGES, build_projects, write_index
from mirror.tree.landing import write_landing, write_projects_map
from mirror.tree.manifest import build_time, format_time, write_manifest
from mirror.tree.sbom import write_sbom
from mirror.upstream.indexes import Indexes, order, read_credential_urls

log = logging.getLogger(__name__)

LOCK_NAME = "lock.json"
AUDIT_NAME = "audit.json"


def build(settings: Settings) -> Lock:
    started = time.monotonic()
    if settings.requirements:
        parse_targets(settings.python_versions, settings.platforms)  # a typo fails before anything else
    check_input_files(settings)
    if settings.vuln_db_url and strip_credentials(settings.vuln_db_url)[1] and spell("vuln_db_url").isupper():
        # In an image build the bake variable is a build argument: `docker history` would show it.
        raise InputError(f"{mask(settings.vuln_db_url)} carries credentials, which would stay in the image "
                         "history; download the export and give it as VULN_DB instead", option="vuln_db_url")
    # Read before anything slow: a bad previous manifest or input fails the build at once.
    previous = None
    if settings.previous_manifest:
        previous = read_previous(settings.previous_manifest, settings.previous_audit)
    sets = None
    if not settings.lock:
        if not settings.requirements:
            raise InputError(f"nothing to mirror: give a requirements file ({spell('requirements')}) "
                             f"or a lock ({spell('lock')})")
        sets = read_sets(split_paths(settings.requirements), extras=settings.extras, groups=settings.groups,
                         uv=find_uv(), uv_env=uv_env(settings.ca_bundle, settings.cache_dir))
    upstream = Indexes(index_order(settings, sets), ca_bundle=settings.ca_bundle)
    lock = read_lock(settings.lock) if settings.lock else lock_requirements(settings, sets, upstream, previous)
    report_statuses(lock)
    check_policy(lock, settings.provenance)
    if previous and settings.provenance != "off":
        check_continuity(previous, lock)
    built, built_from = build_time(lock, settings.source_date_epoch)
    log.info("build time %s (%s); wall clock %s", format_time(built), built_from or "no source: left out",
             time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    # The advisories the appliance serves are the ones the build audits with: one matcher, one export.
    export = load_export(settings.vuln_db, settings.vuln_db_url, ca_bundle=settings.ca_bundle)
    # Before any download: AUDIT=fail stops here, and only the lock is needed.
    report = audit(lock, mode=settings.audit, vuln_service=settings.vuln_service, export=export,
                   ignore_file=settings.audit_ignore, ca_bundle=settings.ca_bundle)
    changes = compare(previous, json.loads(lock.to_json()), json.loads(report.to_json())) if previous else None

    staging = settings.out.with_name(f".{settings.out.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        download(list(lock.files), staging / PACKAGES, upstream, cache=settings.cache_dir, jobs=settings.jobs)
        check_closure(lock, staging / PACKAGES, cache_dir=settings.cache_dir)
        lock = verify_all(lock, staging / PACKAGES, upstream, policy=settings.provenance,
                          verified_at=format_time(built), jobs=settings.jobs)
        report = dataclasses.replace(report, provenance=summary(lock, settings.provenance),
                                     project_status={n: s.to_json() for n, s in sorted(lock.statuses.items())})
        projects = build_projects(list(lock.files), staging / PACKAGES, lock.statuses)
        write_index(projects, staging)
        osv_meta = write_osv_tree(export, staging)
        write_landing(projects, lock, staging, report, changes, format_time(built), osv_meta)
        write_atomic(staging / LOCK_NAME, lock.to_json().encode("utf-8"))
        for relative, text in pylock_documents(lock).items():
            (staging / relative).parent.mkdir(parents=True, exist_ok=True)
            write_atomic(staging / relative, text.encode("utf-8"))
        write_atomic(staging / AUDIT_NAME, report.to_json().encode("utf-8"))
        if changes:
            write_changes(changes, staging)
        write_sbom(lock, staging, built=built)
        # last: it lists every other file
        write_manifest(lock, staging, built=built, built_from=built_from, osv=osv_meta)
        if settings.nginx_map:
            write_projects_map(projects, settings.nginx_map)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise

    shutil.rmtree(settings.out, ignore_errors=True)
    staging.rename(settings.out)
    log.info("wrote %s: %d projects, %d files, in %.1f s",
             settings.out, len(projects), len(lock.files), time.monotonic() - started)
    return lock


def report_statuses(lock: Lock) -> None:
    """PEP 792, as a build-time fact: quarantined fails the set that needs it (a LOCK's sets too, with the
    statuses the lock recorded); archived and deprecated are reported here, in audit.json and on the pages."""
    for s in lock.sets:
        check_quarantine(s.name, {p.name for pins in s.pins.values() for p in pins}, lock.statuses)
    if not lock.sets:
        check_quarantine("(the lock)", {f.name for f in lock.files}, lock.statuses)
    for name, status in sorted(lock.statuses.items()):
        log.warning("project %s is %s upstream%s", name, status.status,
                    f": {status.reason}" if status.reason else "")


# How uv names a project it found nothing for: an index hides a quarantined project's files (PEP 792).
_NOTHING_FOR = re.compile(r"no versions of ([A-Za-z0-9][A-Za-z0-9._-]*)|([A-Za-z0-9][A-Za-z0-9._-]*) was not found")


def explain_quarantine(exc: ResolutionError, sets: list[InputSet], upstream: Indexes) -> None:
    """A resolution that found no versions of a project its index quarantined fails with that reason,
    not with the resolver's "no versions"."""
    named = (a or b for a, b in _NOTHING_FOR.findall(exc.detail))
    for name in dict.fromkeys(canonicalize_name(n) for n in named):
        try:
            upstream.project_files(name)
        except UpstreamError:
            continue
        status = upstream.status(name)
        if status.status == "quarantined":
            where = next((s for s in sets if str(s.path) in exc.target), sets[0])
            raise ProjectStatusError(where.name, name, status.status, status.reason) from None


def check_input_files(settings: Settings) -> None:
    """Every file input given exists, before anything slow: one line naming the knob and the path."""
    for name in FILE_INPUTS:
        value = getattr(settings, name)
        paths = split_paths(value) if name == "requirements" and value is not None else [value]
        for path in paths:
            if path is not None and not path.is_file():
                raise InputError(f"file not found: {path}", option=name)
            # In an image build the inputs context keeps symlinks as they are: one leading out of its
            # folder would read the builder's own files there (/run/secrets/...).
            if path is not None and escapes(path, path.parent):
                raise InputError(f"{path} is a symlink to {path.resolve()}, outside its folder: give the file "
                                 "itself", option=name)


def index_order(settings: Settings, sets: list | None = None) -> list[str]:
    """Every upstream index, first asked first: EXTRA_INDEX_URLS, the files' own, INDEX_URL."""
    file_urls = [u for s in sets or [] for u in s.index_urls]
    for url in settings.extra_index_urls.split():
        if strip_credentials(url)[1]:
            raise InputError(f"{mask(url)} carries credentials, which would stay in the image history; "
                             "give the URL with them in EXTRA_INDEX_URLS_FILE instead", option="extra_index_urls")
    for url in file_urls:
        if strip_credentials(url)[1]:
            where = next(s.path for s in sets if url in s.index_urls)
            raise InputError(f"{where}: index URL {mask(url)} carries credentials: give them as a secret "
                             "(EXTRA_INDEX_URLS_FILE or NETRC_FILE) and keep the file free of them")
    return order(settings.index_url, settings.extra_index_urls.split(), file_urls,
                 read_credential_urls(settings.index_credentials))


def refuse_package_code_beside_secrets(settings: Settings, upstream: Indexes) -> None:
    """BUILD_SDIST_METADATA only where no credential is in play: uv and the backends it starts run as
    this build's user, so uv's command line (index URLs), this process's environment and any secret
    file given to the build would all be readable to the package code."""
    lending = [u.index_url for u in upstream.upstreams if u.credentials]
    if lending:
        given = f"{mask(lending[0])} has credentials"
    elif settings.index_credentials:
        given = f"an index credentials file is given ({spell('index_credentials')})"
    elif os.environ.get("NETRC") and Path(os.environ["NETRC"]).is_file():
        given = "a netrc is given (NETRC_FILE / NETRC)"
    else:
        return
    raise InputError(f"package code cannot run beside secrets: {given}, which the build backend uv starts could "
                     "read; publish a wheel, give a lock, or build without the credentials",
                     option="build_sdist_metadata")


def lock_requirements(settings: Settings, sets: list[InputSet], upstream: Indexes,
                      previous: dict | None = None) -> Lock:
    targets = parse_targets(settings.python_versions, settings.platforms)
    log.info("resolving %s for %d targets (%s) against %s",
             " ".join(f"{s.path} ({s.kind})" for s in sets), len(targets), " ".join(map(str, targets)),
             ", ".join(upstream.masked))
    started = time.monotonic()
    preferences = None
    if settings.keep_previous_pins:
        if not previous:
            raise InputError(f"keeping the previous pins needs the previous build's manifest "
                             f"({spell('previous_manifest')})", option="keep_previous_pins")
        preferences = {(t.get("set"), t["name"]): t["pins"] for t in previous["lock"]["targets"]}
    if settings.build_sdist_metadata:
        refuse_package_code_beside_secrets(settings, upstream)
        log.warning("resolving with %s: uv may run sdists' build backends (package code) for their metadata, "
                    "with no network and the build's own pinned backends", spell("build_sdist_metadata"))
    try:
        resolved = resolve(sets, targets, index_urls=[u.url_with_credentials for u in upstream.upstreams],
                           ca_bundle=settings.ca_bundle, cache_dir=settings.cache_dir, preferences=preferences,
                           universal=settings.resolution == "universal", include_sdists=settings.include_sdists,
                           build_sdists=settings.build_sdist_metadata)
    except ResolutionError as exc:
        explain_quarantine(exc, sets, upstream)
        raise
    for r in resolved:
        if not any(r.pins.values()):
            raise InputError(f"{r.set.path} names no packages")
    lock = select(resolved, upstream, include_sdists=settings.include_sdists,
                  skip_missing_wheels=settings.skip_missing_wheels, jobs=settings.jobs)
    distinct = {p for target_pins in lock.pins.values() for p in target_pins}
    log.info("resolved %d pins for %d targets: %d files to mirror (%.1f s)",
             len(distinct), len(lock.pins), len(lock.files), time.monotonic() - started)
    return lock
