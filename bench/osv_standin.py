"""A minimal in-memory OSV query server: the baseline the appliance's endpoint is measured against.

The same data (the export's records) and the same matcher (mirror/advisories/osvmatch.py),
compiled once at start and held in memory: POST /v1/query answers
{"vulns": [records]} or {}. Nothing else; not for use beyond the benchmark.
"""

from __future__ import annotations

import http.server
import json
import threading

from packaging.utils import canonicalize_name

from mirror.advisories.osvmatch import compile_record, matches, version_key


class StandIn:
    def __init__(self, records: list[dict]):
        self.by_name: dict[str, list[tuple[bytes, list[dict]]]] = {}
        for record in sorted(records, key=lambda r: r["id"]):
            text = json.dumps(record, separators=(",", ":")).encode()
            for name, entries in compile_record(record).items():
                self.by_name.setdefault(name, []).append((text, entries))

    def answer(self, body: bytes) -> bytes:
        query = json.loads(body)
        key = version_key(query["version"])
        found = [text for text, entries in self.by_name.get(canonicalize_name(query["package"]["name"]), [])
                 if matches(entries, key)]
        return b'{"vulns":[' + b",".join(found) + b"]}" if found else b"{}"

    def serve(self, port: int) -> http.server.ThreadingHTTPServer:
        standin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes: without this, Nagle and delayed ACKs
            # add 40 ms to every answer and the baseline measures TCP, not the server.
            disable_nagle_algorithm = True

            def do_POST(self):  # noqa: N802 (http.server's naming)
                data = standin.answer(self.rfile.read(int(self.headers["Content-Length"])))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        server.request_queue_size = 1024
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server
