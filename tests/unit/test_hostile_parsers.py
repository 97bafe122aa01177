"""Issue 21: the parsers a stranger's bytes reach on the build side, driven by Hypothesis.

A requirements tree, a lock.json, a pylock.toml, a pyproject.toml or uv.lock set, a Simple API
page: whatever the input, the reader answers or raises the project's own error (one line at the
CLI), never a traceback, and it finishes: each example has a deadline far above its normal time
(milliseconds), so only a runaway (quadratic, exponential, unbounded recursion) trips it.
"""

from __future__ import annotations

import datetime
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mirror.errors import InputError
from mirror.inputs.pylock import read_pylock
from mirror.inputs.reqfile import read_tree
from mirror.inputs.sources import read_sets
from mirror.resolve.lock import read_lock
from mirror.upstream.simple import JSON_TYPE, PageError, parse_index, parse_project

RUNAWAY = settings(deadline=datetime.timedelta(seconds=5), max_examples=100,
                   suppress_health_check=[HealthCheck.too_slow])

# JSON values, nested a little and sometimes deeply, with the keys the readers look for.
KEYS = st.sampled_from([
    "lock-version", "index-url", "targets", "files", "sets", "indexes", "name", "python", "platform", "pins",
    "set", "source", "kind", "filename", "version", "url", "sha256", "size", "upload-time", "packages",
    "wheels", "sdist", "hashes", "marker", "environments", "requires-python", "extras", "dependency-groups",
    "default-groups", "project", "dependencies", "optional-dependencies", "dynamic", "meta", "api-version",
    "projects", "yanked", "core-metadata", "provenance", "vcs", "directory", "archive", "path", "index",
]) | st.text(max_size=8)
SCALARS = (st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(max_size=20) | st.sampled_from(["1", "1.0", "3.11", "manylinux_x86_64", "a" * 64,
                                                     "../../x", "http://u:p@h/f.whl", "alpha", "1.0a1",
                                                     "python_version >= '3'", "http://[x", ""]))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=6),
                    max_leaves=40)
DEEP = st.integers(1, 20_000).map(lambda n: "[" * n + "]" * n)


def _toml_value(value) -> str:
    """A JSON value as TOML (inline tables and arrays); None has no TOML spelling: an empty table."""
    if value is None:
        return "{}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"


def toml_document(document: dict) -> str:
    return "".join(f"{json.dumps(k)} = {_toml_value(v)}\n" for k, v in document.items())


def _write(folder: Path, name: str, data: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    return path


# -- the requirements reader

LINE = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["-r", "-c", "-rbase.txt", "--requirement=base.txt", "-r base.txt", "-c base.txt",
                     "-r ../up.txt", "-r /etc/hostname", "-e .", "-i", "--index-url http://h/simple",
                     "--extra-index-url", "--hash=sha256:" + "a" * 64, "--hash", "\\", "#", "alpha",
                     "alpha==1.0", "alpha ; python_version<'3'", "alpha @ http://h/a.whl", "-f x", "--pre",
                     "--only-binary", "a' b", "--unknown"]),
).map(lambda s: s.replace("\x00", ""))


@RUNAWAY
@given(root=st.lists(LINE, max_size=12), base=st.lists(LINE, max_size=6))
def test_the_requirements_reader_raises_only_input_errors(root, base):
    with tempfile.TemporaryDirectory() as folder:
        _write(Path(folder), "base.txt", "\n".join(base))
        path = _write(Path(folder), "requirements.txt", "\n".join(root))
        try:
            read_tree(path)
        except InputError:
            pass


@RUNAWAY
@given(data=st.binary(max_size=200))
def test_the_requirements_reader_takes_any_bytes(data):
    with tempfile.TemporaryDirectory() as folder:
        try:
            read_tree(_write(Path(folder), "requirements.txt", data))
        except InputError:
            pass


# -- the lock readers


@RUNAWAY
@given(document=st.dictionaries(KEYS, JSON, max_size=8) | JSON)
def test_the_lock_json_reader_raises_only_input_errors(document):
    with tempfile.TemporaryDirectory() as folder:
        if isinstance(document, dict):
            document.setdefault("lock-version", 1)
        try:
            read_lock(_write(Path(folder), "lock.json", json.dumps(document)))
        except InputError:
            pass


@RUNAWAY
@given(text=DEEP | st.text(max_size=100))
def test_the_lock_json_reader_takes_deep_and_broken_text(text):
    with tempfile.TemporaryDirectory() as folder:
        try:
            read_lock(_write(Path(folder), "lock.json", text))
        except InputError:
            pass


@RUNAWAY
@given(document=st.dictionaries(KEYS, JSON, max_size=8))
def test_the_pylock_reader_raises_only_input_errors(document):
    document.setdefault("lock-version", "1.0")
    with tempfile.TemporaryDirectory() as folder:
        try:
            read_pylock(_write(Path(folder), "pylock.toml", toml_document(document)))
        except InputError:
            pass


@RUNAWAY
@given(text=DEEP.map(lambda s: "a = " + s) | st.text(max_size=100))
def test_the_pylock_reader_takes_deep_and_broken_text(text):
    with tempfile.TemporaryDirectory() as folder:
        try:
            read_pylock(_write(Path(folder), "pylock.toml", text))
        except InputError:
            pass


@RUNAWAY
@given(document=st.dictionaries(KEYS, JSON, max_size=6), kind=st.sampled_from(["pyproject.toml", "pylock.toml"]))
def test_a_toml_set_raises_only_input_errors(document, kind):
    with tempfile.TemporaryDirectory() as folder:
        try:
            read_sets([_write(Path(folder), f"set/{kind}", toml_document(document))], extras="all", groups="all")
        except InputError:
            pass


@settings(RUNAWAY, max_examples=25)
@given(project=st.dictionaries(KEYS, JSON, max_size=6), lock=st.text(max_size=60))
def test_a_uv_lock_set_raises_only_input_errors(project, lock):
    # uv reads the lock itself; the mirror reads the pyproject.toml beside it, and uv's answer.
    with tempfile.TemporaryDirectory() as folder:
        _write(Path(folder), "set/pyproject.toml", toml_document(project))
        try:
            read_sets([_write(Path(folder), "set/uv.lock", lock)], extras="all", groups="all")
        except InputError:
            pass


# -- the Simple API reader

PAGE_URL = "https://index.example/simple/alpha/"
HTML = st.lists(st.one_of(
    st.text(max_size=30),
    st.sampled_from(['<a href="', '">', "</a>", "<a>", '<a href="http://[x">x</a>', '<a href="../../f.whl#sha256=',
                     '" data-yanked="', '" data-core-metadata="sha256=', '" data-provenance="', "&amp;", "&#0;",
                     '<meta name="pypi:repository-version" content="', "<!--", "<![CDATA[", "<script>"]),
), max_size=30).map("".join)


@RUNAWAY
@given(body=HTML | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
def test_the_simple_html_reader_raises_only_page_errors(body):
    for parse in (parse_project, parse_index):
        try:
            parse(PAGE_URL, "text/html", body)
        except PageError:
            pass


@RUNAWAY
@given(document=st.dictionaries(KEYS, JSON, max_size=8) | JSON)
def test_the_simple_json_reader_raises_only_page_errors(document):
    body = json.dumps(document).encode()
    for parse in (parse_project, parse_index):
        try:
            parse(PAGE_URL, JSON_TYPE, body)
        except PageError:
            pass


@RUNAWAY
@given(body=DEEP | st.binary(max_size=200))
def test_the_simple_json_reader_takes_deep_and_broken_bytes(body):
    for parse in (parse_project, parse_index):
        try:
            parse(PAGE_URL, JSON_TYPE, body)
        except PageError:
            pass
