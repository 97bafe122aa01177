"""OSV record -> one severity word, in GitHub's vocabulary (LOW, MODERATE, HIGH, CRITICAL).

OSV carries severity two ways: `database_specific.severity` (GitHub's
advisories say it in words) and `severity` (CVSS vectors, no score). The
words win when present; otherwise a CVSS v3 vector is scored with the
specification's base-score formula and mapped to its rating. A record with
neither (most PYSEC ones), or only a v2/v4 vector, has no severity: None,
never a guess.
"""

from __future__ import annotations

import math

LEVELS = ("CRITICAL", "HIGH", "MODERATE", "LOW")  # most severe first

# CVSS v3.1 specification, section 7.4 (v3.0 uses the same weights).
_WEIGHTS = {
    "AV": {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2},
    "AC": {"L": 0.77, "H": 0.44},
    "UI": {"N": 0.85, "R": 0.62},
    "C": {"H": 0.56, "L": 0.22, "N": 0.0},
    "I": {"H": 0.56, "L": 0.22, "N": 0.0},
    "A": {"H": 0.56, "L": 0.22, "N": 0.0},
}
_PRIVILEGES = {"U": {"N": 0.85, "L": 0.62, "H": 0.27}, "C": {"N": 0.85, "L": 0.68, "H": 0.5}}


def severity_of(record: dict) -> str | None:
    words = (record.get("database_specific") or {}).get("severity")
    if isinstance(words, str) and words.upper() in LEVELS:
        return words.upper()
    if isinstance(words, str) and words.upper() == "MEDIUM":
        return "MODERATE"
    for entry in record.get("severity") or []:
        if isinstance(entry, dict) and entry.get("type") == "CVSS_V3":
            score = cvss3_base_score(entry.get("score", ""))
            if score is not None:
                return rating(score)
    return None


def cvss3_base_score(vector: str) -> float | None:
    """The base score of a `CVSS:3.x/AV:../...` vector; None when it is not one."""
    parts = vector.split("/")
    if not parts or parts[0] not in ("CVSS:3.0", "CVSS:3.1"):
        return None
    try:
        metrics = dict(part.split(":", 1) for part in parts[1:])
        scope = metrics["S"]
        w = {key: _WEIGHTS[key][metrics[key]] for key in _WEIGHTS}
        privileges = _PRIVILEGES[scope][metrics["PR"]]
    except (KeyError, ValueError):
        return None
    iss = 1 - (1 - w["C"]) * (1 - w["I"]) * (1 - w["A"])
    if scope == "U":
        impact = 6.42 * iss
    else:
        impact = 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15
    exploitability = 8.22 * w["AV"] * w["AC"] * privileges * w["UI"]
    if impact <= 0:
        return 0.0
    total = impact + exploitability if scope == "U" else 1.08 * (impact + exploitability)
    return _round_up(min(total, 10))


def rating(score: float) -> str | None:
    if score >= 9.0:
        return "CRITICAL"
    if score >= 7.0:
        return "HIGH"
    if score >= 4.0:
        return "MODERATE"
    if score > 0:
        return "LOW"
    return None


def _round_up(value: float) -> float:
    """CVSS v3.1's Roundup (Appendix A): one decimal, up, without float noise."""
    scaled = round(value * 100000)
    if scaled % 10000 == 0:
        return scaled / 100000
    return (math.floor(scaled / 10000) + 1) / 10
