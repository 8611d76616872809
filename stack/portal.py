"""The demo's portal: a webhook endpoint for `make run` when `PORTAL_WEBHOOKS` names none.

It answers 204 to each status notify posts, except the first post of every tenth dossier,
which it refuses (503) once: notify retries it with backoff, as it would for a portal that
is briefly down, so the dashboard shows webhooks delivered, failed and retried.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson


class DemoPortal:
    def __init__(self) -> None:
        self.received = 0
        self.refused = 0
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        portal = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(503 if portal.refuse_first(body) else 204)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                del format, args

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/dvc/status"

    def refuse_first(self, body: bytes) -> bool:
        try:
            payload = orjson.loads(body).get("payload", {})
            key = f"{payload.get('dossier_id')}|{payload.get('sequence')}"
        except (orjson.JSONDecodeError, AttributeError):
            key = ""
        with self._lock:
            self.received += 1
            first = key not in self._seen
            self._seen.add(key)
            if first and self.received % 10 == 0:
                self.refused += 1
                return True
        return False

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()
