"""A loopback webhook receiver (Slack-style incoming webhook) that records every POST."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class WebhookReceiver:
    """Answers each POST with the next status of ``statuses`` (then 200) and keeps its JSON."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        outer = self
        self.received: list[dict[str, Any]] = []
        self.attempts = 0
        self.statuses = list(statuses or [])
        self.lock = threading.Lock()

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with outer.lock:
                    outer.attempts += 1
                    status = outer.statuses.pop(0) if outer.statuses else 200
                    if status < 300:
                        outer.received.append(json.loads(body))
                data = b"ok"
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _H)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hooks/T000/B000/secret"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
