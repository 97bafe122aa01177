"""A fake upstream index on 127.0.0.1: PEP 503 HTML and PEP 691 JSON, with faults on demand.

Every wheel is generated here and published with its PEP 658 metadata, so the
resolver (uv) reads only `.metadata` files and never the wheels: a fault on a
wheel hits the mirror's own download and nothing else.

With api_version="1.4" it serves what the public index adds: PEP 740
provenance (`/integrity/<file>/provenance`, for real signed files from
tests/fixtures/trust, see its NOTE.md) and PEP 792 project statuses.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import html
import http.server
import io
import json
import socket
import socketserver
import tarfile
import threading
import zipfile
from pathlib import Path

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
INTEGRITY_TYPE = "application/vnd.pypi.integrity.v1+json"
TRUST_ASSETS = Path(__file__).resolve().parent.parent / "fixtures" / "trust"
UPLOAD_TIME = "2024-01-02T03:04:05.000000Z"
FAULTS = ("corrupt", "fail_once_500", "stall", "stall_once", "missing", "oversize")
# Fixed zip and tar timestamps: the same fixture gives the same bytes on every run.
_EPOCH = (2024, 1, 2, 3, 4, 6)


@dataclasses.dataclass(frozen=True)
class Dist:
    filename: str
    data: bytes
    metadata: bytes | None  # PEP 658 file; None for sdists
    provenance: bytes | None = None  # PEP 740 provenance object; None: the index publishes none

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def project(self) -> str:
        return self.filename.split("-", 1)[0].replace("_", "-").lower()


def wheel(name: str, version: str, *requires: str, tag: str = "py3-none-any") -> Dist:
    """A wheel (pure py3-none-any unless tag says otherwise) whose METADATA requires `requires`."""
    dist_info = f"{name}-{version}.dist-info"
    metadata = "".join([
        "Metadata-Version: 2.1\n", f"Name: {name}\n", f"Version: {version}\n",
        *(f"Requires-Dist: {r}\n" for r in requires),
    ]).encode()
    members = {
        f"{name}/__init__.py": f"VERSION = {version!r}\n".encode(),
        f"{dist_info}/METADATA": metadata,
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: fake-index\nRoot-Is-Purelib: true\n"
                              + f"Tag: {tag}\n".encode(),
    }
    record = "".join(f"{path},sha256={_b64digest(data)},{len(data)}\n" for path, data in members.items())
    members[f"{dist_info}/RECORD"] = (record + f"{dist_info}/RECORD,,\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in members.items():
            zf.writestr(zipfile.ZipInfo(path, _EPOCH), data)
    return Dist(f"{name}-{version}-{tag}.whl", buffer.getvalue(), metadata)


def sdist(name: str, version: str, *, buildable_metadata: bool = True) -> Dist:
    """An sdist with static (Metadata-Version 2.2) PKG-INFO, so a resolver need not build it.

    buildable_metadata=False: Metadata-Version 2.1 (no promise that it is static) and a build
    backend that does not exist, as old sdists are: a resolver that needs its metadata fails.
    """
    version_line = "2.2" if buildable_metadata else "2.1"
    pkg_info = f"Metadata-Version: {version_line}\nName: {name}\nVersion: {version}\n".encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as tf:
        for path, data in {
            f"{name}-{version}/PKG-INFO": pkg_info,
            f"{name}-{version}/pyproject.toml": b'[build-system]\nrequires = []\nbuild-backend = "none"\n',
        }.items():
            info = tarfile.TarInfo(path)
            info.size, info.mtime = len(data), 1704164646
            tf.addfile(info, io.BytesIO(data))
    return Dist(f"{name}-{version}.tar.gz", buffer.getvalue(), None)


@contextlib.contextmanager
def serving(server: socketserver.BaseServer):
    """server answering on a thread of its own until the block ends (a shutdown waits at most 50 ms)."""
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def backend_sdist(name: str, version: str, backend: str) -> Dist:
    """An sdist without static metadata (Metadata-Version 2.1) whose in-tree build backend is `backend`
    (Python source, module `backend`): whoever asks it for metadata runs that code."""
    pyproject = '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
    return dynamic_sdist(name, version, {"pyproject.toml": pyproject, "backend.py": backend})


def dynamic_sdist(name: str, version: str, files: dict[str, str]) -> Dist:
    """An sdist without static metadata (Metadata-Version 2.1) holding `files`: only its build backend
    can say what it depends on."""
    pkg_info = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as tf:
        for path, data in {f"{name}-{version}/{path}": data.encode()
                           for path, data in {"PKG-INFO": pkg_info, **files}.items()}.items():
            info = tarfile.TarInfo(path)
            info.size, info.mtime = len(data), 1704164646
            tf.addfile(info, io.BytesIO(data))
    return Dist(f"{name}-{version}.tar.gz", buffer.getvalue(), None)


def real(filename: str, *, provenance: bool = True) -> Dist:
    """A real, signed file from tests/fixtures/trust with its real provenance object (when it has one)."""
    data = (TRUST_ASSETS / filename).read_bytes()
    metadata = None
    if filename.endswith(".whl"):
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            metadata = zf.read(next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA")))
    sidecar = TRUST_ASSETS / f"{filename}.provenance"
    return Dist(filename, data, metadata, sidecar.read_bytes() if provenance and sidecar.exists() else None)


def default_dists() -> list[Dist]:
    return [
        wheel("alpha", "1.0", "beta"),
        wheel("beta", "1.0"),
        wheel("beta", "2.0"),
        wheel("delta", "1.0"),
        sdist("gamma", "1.0"),
    ]


def _b64digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


@dataclasses.dataclass(frozen=True)
class Request:
    method: str
    path: str
    status: int
    authorized: bool  # an Authorization header was sent (right or wrong)
    user_agent: str
    authorization: str = ""  # the header itself: which credentials reached this index


@dataclasses.dataclass
class _Fault:
    kind: str
    user_agent: str | None  # only requests whose User-Agent starts with this
    hits: int = 0


class FakeIndex:
    """A Simple API on an ephemeral 127.0.0.1 port; a context manager.

    auth: (user, password) that every request must carry, else 401.
    files_url: serve pages whose file links point at another server
    (absolute URLs), as an index with a separate file host does.
    html_only: answer text/html even to a client that asks for JSON.
    redirect_files_to: answer every /files/ request with a 302 to the same path on this base URL.
    """

    def __init__(self, dists: list[Dist] | None = None, *, auth: tuple[str, str] | None = None,
                 files_url: str | None = None, html_only: bool = False, stall_seconds: float = 5.0,
                 redirect_files_to: str | None = None, api_version: str = "1.1",
                 statuses: dict[str, tuple[str, str | None]] | None = None, hide_quarantined: bool = True):
        """api_version "1.4": provenance links and project statuses (name -> (status, reason)) are served;
        hide_quarantined: a quarantined project lists no files, as the public index does."""
        self.dists = {d.filename: d for d in (dists if dists is not None else default_dists())}
        self.api_version = api_version
        self.statuses = statuses or {}
        self.hide_quarantined = hide_quarantined
        self.auth = auth
        self.files_url = files_url
        self.html_only = html_only
        self.redirect_files_to = redirect_files_to
        self.stall_seconds = stall_seconds
        self.log: list[Request] = []
        self._faults: dict[str, _Fault] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        self.port = self._server.server_address[1]
        self._serving = serving(self._server)

    # -- lifecycle

    def __enter__(self) -> "FakeIndex":
        self._serving.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()  # wakes stalled handlers
        self._serving.__exit__(*exc)

    # -- what a test reads and sets

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base}/simple/"

    def url_with(self, user: str, password: str) -> str:
        return f"http://{user}:{password}@127.0.0.1:{self.port}/simple/"

    def file_url(self, filename: str) -> str:
        return f"{self.base}/files/{filename}"

    def inject(self, target: str, kind: str, *, user_agent: str | None = None) -> None:
        """Make `target` (a filename under /files/, or a path starting with /) misbehave."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; known: {', '.join(FAULTS)}")
        path = target if target.startswith("/") else f"/files/{target}"
        with self._lock:
            self._faults[path] = _Fault(kind, user_agent)

    def requests(self, path_prefix: str = "", *, since: int = 0) -> list[Request]:
        with self._lock:
            return [r for r in self.log[since:] if r.path.startswith(path_prefix)]

    def gets(self, filename: str, *, since: int = 0) -> list[Request]:
        return [r for r in self.requests(f"/files/{filename}", since=since)
                if r.path == f"/files/{filename}" and r.method == "GET"]

    def downloads(self, *, since: int = 0) -> list[str]:
        """Distribution files (not .metadata) fetched, in request order."""
        return [r.path.removeprefix("/files/") for r in self.requests("/files/", since=since)
                if r.method == "GET" and not r.path.endswith(".metadata")]

    # -- serving

    def _fault_for(self, path: str, user_agent: str) -> str | None:
        with self._lock:
            fault = self._faults.get(path)
            if fault is None or (fault.user_agent and not user_agent.startswith(fault.user_agent)):
                return None
            fault.hits += 1
            if fault.kind in ("fail_once_500", "stall_once") and fault.hits > 1:
                return None
            return fault.kind

    def _record(self, request: Request) -> None:
        with self._lock:
            self.log.append(request)

    def _project_page(self, name: str, as_json: bool) -> bytes | None:
        dists = sorted((d for d in self.dists.values() if d.project == name), key=lambda d: d.filename)
        status, reason = self.statuses.get(name, (None, None))
        if not dists and status is None:
            return None
        if status == "quarantined" and self.hide_quarantined:
            dists = []
        base = f"{self.files_url}/files/" if self.files_url else "../../files/"
        modern = self.api_version >= "1.3"
        if as_json:
            extra = {}
            if status is not None and self.api_version >= "1.4":
                extra["project-status"] = {"status": status, **({"reason": reason} if reason else {})}
            return json.dumps({
                **extra,
                "meta": {"api-version": self.api_version},
                "name": name,
                "versions": sorted({d.filename.split("-")[1].removesuffix(".tar.gz") for d in dists}),
                "files": [{
                    "filename": d.filename,
                    "url": base + d.filename,
                    "hashes": {"sha256": d.sha256},
                    "size": len(d.data),
                    "upload-time": UPLOAD_TIME,
                    "yanked": False,
                    "core-metadata": {"sha256": hashlib.sha256(d.metadata).hexdigest()} if d.metadata else False,
                    **({"provenance": _integrity(d) if d.provenance else None} if modern else {}),
                } for d in dists],
            }).encode()
        links = []
        for d in dists:
            attrs = f'href="{html.escape(base + d.filename)}#sha256={d.sha256}"'
            if d.metadata:
                attrs += f' data-core-metadata="sha256={hashlib.sha256(d.metadata).hexdigest()}"'
            if d.provenance and modern:
                attrs += f' data-provenance="{html.escape(_integrity(d))}"'
            links.append(f"<a {attrs}>{html.escape(d.filename)}</a><br>")
        meta = f'<meta name="pypi:repository-version" content="{self.api_version}">'
        if status is not None and self.api_version >= "1.4":
            meta += f'<meta name="pypi:project-status" content="{html.escape(status)}">'
            if reason:
                meta += f'<meta name="pypi:project-status-reason" content="{html.escape(reason)}">'
        return (f"<!DOCTYPE html><html><head>{meta}"
                f"</head><body>{''.join(links)}</body></html>").encode()

    def _root_page(self, as_json: bool) -> bytes:
        names = sorted({d.project for d in self.dists.values()} | set(self.statuses))
        if as_json:
            return json.dumps({"meta": {"api-version": self.api_version}, "projects": [{"name": n} for n in names]}).encode()
        return ("<!DOCTYPE html><html><body>"
                + "".join(f'<a href="{n}/">{n}</a><br>' for n in names) + "</body></html>").encode()


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # uv opens many connections at once

    def handle_error(self, request, client_address):
        pass  # a client that hung up on a stalled or corrupt answer is the point, not a failure


def _handler_for(index: FakeIndex):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real index offers

        def log_message(self, *args):
            pass

        def do_HEAD(self):
            self._serve(body=False)

        def do_GET(self):
            self._serve(body=True)

        def _serve(self, body: bool) -> None:
            path = self.path.split("?", 1)[0]
            authorized = "Authorization" in self.headers
            user_agent = self.headers.get("User-Agent", "")

            def answer(status: int, data: bytes = b"", content_type: str = "text/plain",
                       headers: dict | None = None, send: bytes | None = None) -> None:
                index._record(Request(self.command, path, status, authorized, user_agent,
                                      self.headers.get("Authorization", "")))
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                if body:
                    self.wfile.write(data if send is None else send)

            if index.auth and self.headers.get("Authorization") != _basic(*index.auth):
                return answer(401, b"credentials required", headers={"WWW-Authenticate": 'Basic realm="fake"'})

            fault = index._fault_for(path, user_agent)
            if fault == "missing":
                return answer(404, b"not found")
            if fault == "fail_once_500":
                return answer(500, b"try again")

            if path.startswith("/files/") and index.redirect_files_to:
                return answer(302, headers={"Location": index.redirect_files_to + path})

            if path.startswith("/integrity/") and path.endswith("/provenance"):
                dist = index.dists.get(path.split("/")[2])
                if dist is None or dist.provenance is None:
                    return answer(404, b"not found")
                return answer(200, dist.provenance, INTEGRITY_TYPE)

            if path.startswith("/files/"):
                filename = path.removeprefix("/files/")
                wanted_metadata = filename.endswith(".metadata")
                dist = index.dists.get(filename.removesuffix(".metadata"))
                data = None if dist is None else (dist.metadata if wanted_metadata else dist.data)
                if data is None:
                    return answer(404, b"not found")
                # Files never change once uploaded: tell caches so, as PyPI does.
                cache = {"Cache-Control": "max-age=365000000, immutable, public"}
                if fault == "oversize":  # more than the page declares, the first bytes right
                    return answer(200, data + b"\0" * (1 << 20), "application/octet-stream", cache)
                if fault == "corrupt":
                    return answer(200, data, "application/octet-stream", cache,
                                  send=corrupted(data))
                if fault in ("stall", "stall_once"):
                    index._record(Request(self.command, path, 200, authorized, user_agent))
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    index._stop.wait(index.stall_seconds)
                    self.close_connection = True
                    return
                return answer(200, data, "application/octet-stream", cache)

            as_json = not index.html_only and JSON_TYPE in self.headers.get("Accept", "")
            content_type = JSON_TYPE if as_json else "text/html; charset=utf-8"
            if path == "/simple/":
                return answer(200, index._root_page(as_json), content_type)
            if path.startswith("/simple/") and path.endswith("/") and path.count("/") == 3:
                page = index._project_page(path.split("/")[2], as_json)
                if page is not None:
                    return answer(200, page, content_type)
            return answer(404, b"not found")

    return Handler


def _integrity(d: Dist) -> str:
    """Where the public index serves a file's provenance (relative to a project page)."""
    return f"../../integrity/{d.filename}/provenance"


def corrupted(data: bytes) -> bytes:
    """What a `corrupt` fault serves: same length, last byte flipped."""
    return data[:-1] + bytes([data[-1] ^ 0xFF])


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def closed_port() -> int:
    """A 127.0.0.1 port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
