"""Property-based tests (Hypothesis) of the OSV service a stranger reaches, through the real nginx.

- Any body, hostile or random, to /osv/v1/query and /osv/v1/querybatch gets a
  200, 400 or 413 with a JSON body, quickly: never a 5xx, a hang or an error-log line.
- nginx/osv.js orders versions as `packaging` does: random PEP 440 versions (in
  every spelling packaging accepts) and near-versions go through osv.js's
  `versionKey` in the session appliance and must give osvmatch.version_key's key
  (the build's, which the served data is made of), None exactly where packaging
  refuses the text, and the order of `packaging.version.Version`.

The key is read from a location that exists only while this module runs: the
test puts an njs module and two config snippets into the session container's
/tmp/pypi-mirror/conf.d (the include folders nginx.conf reads) and reloads
nginx; the production configuration has no such location. Examples are
derandomized: the same inputs every run, so a failure is reproducible.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
import uuid

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.version import InvalidVersion, Version

from mirror.advisories.osvmatch import version_key

PROPERTIES = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                      suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
CONF_D = "/tmp/pypi-mirror/conf.d"
ORDER_JS = """import osv from '/etc/pypi-mirror/nginx/osv.js';
// Test only: the keys osv.js gives a JSON list of strings.
function keys(r) {
    r.headersOut['Content-Type'] = 'application/json';
    r.return(200, JSON.stringify(JSON.parse(r.requestText).map(osv.versionKey)));
}
export default {keys};
"""


def _tar(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _reload(container) -> None:
    result = container.exec_run(["/usr/sbin/nginx", "-c", "/etc/pypi-mirror/nginx/nginx.conf", "-s", "reload"])
    assert result.exit_code == 0, result.output.decode()


def _wait_for(url: str, status: int) -> None:
    deadline = time.monotonic() + 15
    while True:
        answer = requests.get(url, data=b"[]", timeout=5)
        if answer.status_code == status:
            return
        assert time.monotonic() < deadline, f"{url} answered {answer.status_code}, never {status}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def order_url(mirror):
    """A test-only location in the session appliance that returns osv.js's versionKey for each string."""
    container = mirror.container.get_wrapped_container()
    tag = f"osv-order-test-{uuid.uuid4().hex[:8]}"
    path = f"/_test/{tag}"
    files = {
        f"{tag}.js": ORDER_JS,
        f"{tag}.conf": f"js_import {tag.replace('-', '_')} from {CONF_D}/{tag}.js;\n",
        # GET: the server refuses other methods outside /osv/v1/query*; a GET may carry a body here.
        f"server/{tag}.conf": (f"location = {path} {{\n    client_max_body_size 64k;\n"
                               f"    client_body_buffer_size 64k;\n    js_content {tag.replace('-', '_')}.keys;\n}}\n"),
    }
    assert container.put_archive(CONF_D, _tar(files))
    _reload(container)
    _wait_for(mirror.url + path, 200)
    try:
        yield mirror.url + path
    finally:
        container.exec_run(["rm", "-f", *(f"{CONF_D}/{name}" for name in files)])
        _reload(container)
        _wait_for(mirror.url + path, 404)


def _keys(url: str, texts: list[str]) -> list[str | None]:
    answer = requests.get(url, data=json.dumps(texts), timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _sep():
    return st.sampled_from(["", ".", "-", "_"])


# What packaging strips around a version: str.isspace over ASCII, \x1c-\x1f included.
SPACE = st.text(" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f", max_size=3)


@st.composite
def versions(draw) -> str:
    """A PEP 440 version in any spelling packaging normalizes: case, separators, implicit numbers,
    leading zeros, a `v`, whitespace around it."""
    def number():
        return draw(st.integers(0, 30).map(str) | st.sampled_from(["00", "007", "10", "99999999999999999999"]))
    text = draw(st.sampled_from(["", "v", "V"]))
    if draw(st.booleans()):
        text += number() + "!"
    text += ".".join(number() for _ in range(draw(st.integers(1, 4))))
    if draw(st.booleans()):
        letter = draw(st.sampled_from(["a", "alpha", "b", "beta", "c", "rc", "pre", "preview", "RC", "Alpha"]))
        text += draw(_sep()) + letter + (draw(_sep()) + number() if draw(st.booleans()) else "")
    if draw(st.booleans()):
        if draw(st.booleans()):
            text += "-" + number()
        else:
            word = draw(st.sampled_from(["post", "rev", "r", "POST"]))
            text += draw(_sep()) + word + (draw(_sep()) + number() if draw(st.booleans()) else "")
    if draw(st.booleans()):
        text += draw(_sep()) + draw(st.sampled_from(["dev", "DEV"])) + (number() if draw(st.booleans()) else "")
    if draw(st.booleans()):
        segment = st.text("abcxyz0123456789", min_size=1, max_size=4)
        text += "+" + "".join(draw(segment) + draw(st.sampled_from([".", "-", "_"]))
                              for _ in range(draw(st.integers(0, 2)))) + draw(segment)
    return draw(SPACE) + text + draw(SPACE)


# Near-versions: the characters versions are made of, in any order (most are not versions).
near_versions = st.text("0123456789.!+-_abcdeilmoprstvABCDELPRV \t\n\x0c\x1f", max_size=24)


def _order(a: Version, b: Version) -> int:
    return (a > b) - (a < b)


@PROPERTIES
@given(st.lists(versions() | near_versions, min_size=2, max_size=12))
def test_osv_js_orders_versions_as_packaging_does(order_url, texts):
    keys = _keys(order_url, texts)
    assert keys == [version_key(t) for t in texts]  # the build's keys: the data nginx compares against
    parsed = []
    for text, key in zip(texts, keys, strict=True):
        try:
            parsed.append((Version(text), key))
        except InvalidVersion:
            assert key is None, (text, key)
    for a, key_a in parsed:
        assert key_a is not None
        for b, key_b in parsed:
            assert ((key_a > key_b) - (key_a < key_b)) == _order(a, b), (str(a), str(b), key_a, key_b)


# -- any body: a 200/400/413 with JSON, quickly ---------------------------------------------------

FIELDS = ["package", "name", "ecosystem", "purl", "version", "queries", "page_token", "commit"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=6) | st.dictionaries(
        st.sampled_from(FIELDS) | st.text(max_size=8), children, max_size=6),
    max_leaves=30,
)
long_text = st.builds(lambda c, n, tail: c * n + tail, st.sampled_from([" ", "1", "a", ".", "%", "\t", "-", "\u00e9"]),
                      st.integers(0, 20_000), st.text(max_size=4))
strings = st.text(max_size=60) | long_text | st.sampled_from(["PyPI", "pkg:pypi/requests@2.19.1", "2.19.1", "pm1-3"])


@st.composite
def queries(draw) -> dict:
    package = {}
    if draw(st.booleans()):
        package["name"] = draw(strings | st.sampled_from(["requests", "pmtest-large", "Py", "../x"]))
        package["ecosystem"] = draw(st.sampled_from(["PyPI", "pypi", "npm"]) | strings)
    else:
        package["purl"] = draw(st.builds(lambda a, b: a + b, st.sampled_from(["pkg:pypi/", "pkg:PYPI//", "pkg:npm/", ""]),
                                         strings))
    query = {"package": draw(st.just(package) | json_values)}
    for name in ("version", "page_token"):
        if draw(st.booleans()):
            query[name] = draw(strings | json_values)
    return query


bodies = (
    st.binary(max_size=3000)
    | json_values.map(lambda v: json.dumps(v).encode())
    | queries().map(lambda q: json.dumps(q).encode())
    | st.lists(queries() | json_values, max_size=40).map(lambda qs: json.dumps({"queries": qs}).encode())
    | st.builds(lambda c, n: c * n, st.sampled_from([b"[", b"{\"a\":", b"{\"queries\":["]), st.integers(1, 60_000))
)


@pytest.fixture(scope="module")
def session():
    with requests.Session() as session:
        yield session


@PROPERTIES
@given(body=bodies, batch=st.booleans())
def test_any_body_gets_a_json_answer_quickly_and_never_a_server_error(mirror, session, body, batch):
    path = "/osv/v1/querybatch" if batch else "/osv/v1/query"
    started = time.monotonic()
    answer = session.post(mirror.url + path, data=body, timeout=10)
    took = time.monotonic() - started
    assert answer.status_code in (200, 400, 413), (answer.status_code, answer.text[:300])
    assert took < 2, f"{took:.2f} s"  # a guard against pathological work, far above the normal few ms
    document = answer.json()
    assert isinstance(document, dict)
    if answer.status_code != 200:
        assert document["code"] == 3 and isinstance(document["message"], str)


def test_the_fuzzing_left_no_error_log_line_and_the_service_answering(mirror):
    """Runs after the properties above (file order): no 500 was logged (osv.js logs each as `osv:`)."""
    _, errors = mirror.logs()
    assert "osv:" not in errors
    answer = requests.post(mirror.url + "/osv/v1/query", timeout=10,
                           json={"package": {"name": "py", "ecosystem": "PyPI"}, "version": "1.11.0"})
    assert [v["id"] for v in answer.json()["vulns"]] == ["GHSA-w596-4wvx-j9j6"]
