"""The resolver's records: a pin, one input set's pins per target, and reading `name==version` lines.

They sit below the code that makes them (resolve.py), picks their files (select.py)
and writes them down (lock.py): each of those reads them here, and resolution can call
selection without selection reaching back into resolution for its records.
"""

from __future__ import annotations

import dataclasses
import re

from packaging.utils import NormalizedName, canonicalize_name

from mirror.inputs.sources import InputSet
from mirror.inputs.targets import Target

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


@dataclasses.dataclass(frozen=True, order=True)
class Pin:
    name: NormalizedName
    version: str

    def __str__(self) -> str:
        return f"{self.name}=={self.version}"


@dataclasses.dataclass(frozen=True)
class Resolved:
    """One input set's answer: its pins per target, and the targets it leaves out, with why."""

    set: InputSet
    pins: dict[Target, tuple[Pin, ...]]
    skipped: dict[Target, str]


def parse_pins(text: str) -> list[Pin]:
    """`name==version` lines of a compiled requirements file (comments, hashes, markers ignored)."""
    pins = set()
    for line in text.splitlines():
        match = _PIN.match(line.strip())
        if match:
            pins.add(Pin(canonicalize_name(match.group(1)), match.group(2)))
    return sorted(pins)
