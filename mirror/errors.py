"""Every failure the CLI knows how to explain in one line.

Each exception carries its data as attributes and formats it in __str__, so
the CLI edge prints ``error: <exc.explain(spell)>`` and nothing else.

A knob named in a message is carried as its Settings field name and spelled
by the caller (``spell``: field name -> how the user sets it there). The CLI
edge passes mirror.settings.spell (the bake variable inside an image build,
the option elsewhere); ``str(exc)`` spells every knob as its command-line
option. So no error needs the settings to say itself: settings.py (which
raises SettingError) imports this module, and nothing here imports it back.
"""

from __future__ import annotations

from typing import Callable


def option(name: str) -> str:
    """A knob as the command line spells it: the default speller, which needs no settings."""
    return "--" + name.replace("_", "-")


class MirrorError(Exception):
    """Base of all expected failures."""

    def explain(self, spell: Callable[[str], str] = option) -> str:
        """The one-line message, each knob it names spelled by `spell`."""
        return str(self)


class InputError(MirrorError):
    """A file or option given to the build is missing or malformed.

    option: the Settings field it came from; the message then starts with
    that knob as the user sets it where the build runs (bake variable or option).
    """

    def __init__(self, message: str = "", option: str | None = None):
        super().__init__(message)
        self.option = option

    def explain(self, spell: Callable[[str], str] = option) -> str:
        if getattr(self, "option", None):  # subclasses with their own __str__ carry none
            return f"{spell(self.option)}: {Exception.__str__(self)}"
        return str(self)

    def __str__(self) -> str:
        return self.explain() if getattr(self, "option", None) else Exception.__str__(self)


class SettingError(InputError):
    """A knob's value is malformed; names the knob as the user sets it (bake variable or option)."""

    def __init__(self, name: str, value: str, expected: str):
        self.name, self.value, self.expected = name, value, expected

    def explain(self, spell: Callable[[str], str] = option) -> str:
        return f"{spell(self.name)}={self.value!r}: {self.expected}"

    def __str__(self) -> str:
        return self.explain()


class TargetError(InputError):
    def __init__(self, kind: str, value: str, accepted: list[str]):
        self.kind, self.value, self.accepted = kind, value, accepted

    def __str__(self) -> str:
        return f"unknown {self.kind} {self.value!r}; accepted: {', '.join(self.accepted)}"


class ResolutionError(MirrorError):
    """The resolver found no set of pins for a target."""

    def __init__(self, target: str, detail: str):
        self.target, self.detail = target, detail

    def __str__(self) -> str:
        return f"cannot resolve for {self.target}: {self.detail}"


class UpstreamError(MirrorError):
    """The upstream index answered badly or not at all."""

    def __init__(self, url: str, reason: str, status: int | None = None):
        self.url, self.reason, self.status = url, reason, status

    def __str__(self) -> str:
        return f"{self.url}: {self.reason}"


class NoDistributionError(MirrorError):
    """A pinned release has no file a target can install."""

    def __init__(self, name: str, version: str, target: str, what: str = "compatible wheel"):
        self.name, self.version, self.target, self.what = name, version, target, what

    def explain(self, spell: Callable[[str], str] = option) -> str:
        return (
            f"{self.name}=={self.version} has no {self.what} for {self.target} "
            f"(mirror sdists with {_switch(spell('include_sdists'))}, or leave the target out "
            f"with {_switch(spell('skip_missing_wheels'))})"
        )

    def __str__(self) -> str:
        return self.explain()


class HashMismatchError(MirrorError):
    def __init__(self, filename: str, expected: str, got: str):
        self.filename, self.expected, self.got = filename, expected, got

    def __str__(self) -> str:
        return f"sha256 mismatch for {self.filename}: expected {self.expected}, got {self.got}"


class DistributionError(MirrorError):
    """A downloaded distribution is not what its name says it is."""

    def __init__(self, filename: str, reason: str):
        self.filename, self.reason = filename, reason

    def __str__(self) -> str:
        return f"{self.filename}: {self.reason}"


class VulnDatabaseError(InputError):
    """The OSV database export given to the audit cannot be read."""

    def __init__(self, path: str, reason: str):
        self.path, self.reason = path, reason

    def __str__(self) -> str:
        return f"vulnerability database {self.path}: {self.reason}"


class AuditUnavailableError(MirrorError):
    """AUDIT=fail, and no vulnerability source could be used."""

    def __init__(self, reason: str):
        self.reason = reason

    def explain(self, spell: Callable[[str], str] = option) -> str:
        knob = spell("audit")
        return f"the audit could not run ({knob}{'=' if knob.isupper() else ' '}fail needs it): {self.reason}"

    def __str__(self) -> str:
        return self.explain()


class VulnerabilitiesFoundError(MirrorError):
    """AUDIT=fail, and mirrored pins have known vulnerabilities that are not ignored.

    findings: (name, version, id, aliases, fixed versions) per vulnerability.
    """

    def __init__(self, findings: list[tuple[str, str, str, tuple[str, ...], tuple[str, ...]]]):
        self.findings = findings

    def __str__(self) -> str:
        def one(name, version, vuln_id, aliases, fixed):
            also = f" ({', '.join(aliases)})" if aliases else ""
            fix = f"fixed in {', '.join(fixed)}" if fixed else "no fix known"
            return f"{name} {version} {vuln_id}{also}, {fix}"

        n = len(self.findings)
        noun = "known vulnerability" if n == 1 else "known vulnerabilities"
        return f"{n} {noun}: " + "; ".join(one(*f) for f in self.findings)


class VerifyFailed(MirrorError):
    """A deployed mirror failed one or more verify steps (each printed above)."""

    def __init__(self, url: str, steps: list[str]):
        self.url, self.steps = url, steps

    def __str__(self) -> str:
        return f"{self.url} failed {len(self.steps)} check(s): {', '.join(self.steps)}"


def _switch(knob: str) -> str:
    """A yes/no knob switched on, as the user writes it: INCLUDE_SDISTS=1 or --include-sdists."""
    return f"{knob}=1" if knob.isupper() else knob


class HashNotFoundError(MirrorError):
    """A requirement carries hashes, and no file for a target matches one of them."""

    def __init__(self, requirement: str, where: str, target: str, hashes: list[str]):
        self.requirement, self.where, self.target, self.hashes = requirement, where, target, hashes

    def __str__(self) -> str:
        given = ", ".join(f"sha256:{h}" for h in self.hashes)
        return (f"{self.where}: {self.requirement}: no file for {self.target} matches the hashes given "
                f"({given})")


class PublishError(MirrorError):
    """The target index refused the upload, or cannot be reached."""

    def __init__(self, url: str, reason: str):
        self.url, self.reason = url, reason

    def __str__(self) -> str:
        return f"{self.url}: {self.reason}"


class PublishConflict(MirrorError):
    """The target index already has files of these names with other contents."""

    def __init__(self, url: str, files: list[tuple[str, str, str]]):
        self.url, self.files = url, files  # (filename, ours, theirs)

    def __str__(self) -> str:
        first = "; ".join(f"{name} (index {theirs[:12]}..., mirror {ours[:12]}...)" for name, ours, theirs in self.files[:3])
        more = f" and {len(self.files) - 3} more" if len(self.files) > 3 else ""
        return (f"{self.url} already has {len(self.files)} file(s) with a different sha256, nothing uploaded: "
                f"{first}{more}")


class PublishFailed(MirrorError):
    """Some uploads failed after their retries (each named)."""

    def __init__(self, url: str, failures: list[tuple[str, str]]):
        self.url, self.failures = url, failures

    def __str__(self) -> str:
        first = "; ".join(f"{name}: {reason}" for name, reason in self.failures[:3])
        return f"{self.url}: {len(self.failures)} upload(s) failed: {first}"


class ProvenanceError(MirrorError):
    """A file's PEP 740 provenance does not verify, is missing where it must exist, or went away."""

    def __init__(self, filename: str, reason: str):
        self.filename, self.reason = filename, reason

    def __str__(self) -> str:
        return f"provenance of {self.filename}: {self.reason}"


class ProjectStatusError(MirrorError):
    """A set needs a project that its index marks quarantined (PEP 792)."""

    def __init__(self, set_name: str, project: str, status: str, reason: str | None):
        self.set_name, self.project, self.status, self.reason = set_name, project, status, reason

    def __str__(self) -> str:
        why = f" ({self.reason})" if self.reason else ""
        return (f"set {self.set_name} needs {self.project}, which its index marks {self.status}{why}: "
                "the index considers it unsafe; remove it from the set")


class MaliciousReleaseError(MirrorError):
    """A mirrored release is named by an OSV MAL- record (OpenSSF malicious packages), not ignored.

    findings: (name, version, id) per release.
    """

    def __init__(self, findings: list[tuple[str, str, str]]):
        self.findings = findings

    def explain(self, spell: Callable[[str], str] = option) -> str:
        named = "; ".join(f"{name} {version} {vuln_id}" for name, version, vuln_id in self.findings)
        return (f"malicious release{'s' if len(self.findings) > 1 else ''} refused: {named} "
                f"(only {spell('audit')} off or a line in {spell('audit_ignore')} lets one in)")

    def __str__(self) -> str:
        return self.explain()
