"""A receiver that applies each effect once: the other half of exactly-once.

Not a Kappa program: a tiny HTTP service to run next to examples/crawler.py.
POST /processed with an `Idempotency-Key` header applies the effect (here: a
count per URL) the first time it sees the key and only acknowledges later
POSTs with the same key; GET /stats shows, per key, how many POSTs arrived
(attempts) and how many were applied (always 1).

    python3 examples/dedup_service.py --port 8001
"""

from __future__ import annotations

import argparse
import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class DedupService:
    def __init__(self, port: int = 0, host: str = "127.0.0.1"):
        self.attempts: Counter = Counter()   # POSTs per key
        self.applied: dict[str, str] = {}     # key → the URL whose effect it applied
        self.effects: Counter = Counter()    # applied effects per URL
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer((host, port), self._handler())
        self.url = f"http://{host}:{self.server.server_port}/processed"

    def serve_in_background(self) -> "DedupService":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def receive(self, key: str, url: str) -> bool:
        """Records one POST; applies its effect unless the key was seen."""
        with self.lock:
            self.attempts[key] += 1
            if key in self.applied:
                return False
            self.applied[key] = url
            self.effects[url] += 1
            return True

    def stats(self) -> dict:
        with self.lock:
            return {key: {"attempts": n, "applied": int(key in self.applied)} for key, n in self.attempts.items()}

    def _handler(self):
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                key = self.headers.get("Idempotency-Key")
                if not key:
                    return self._reply(400, {"error": "no Idempotency-Key header"})
                self._reply(200, {"applied": service.receive(key, body.get("url", ""))})

            def do_GET(self):
                self._reply(200, service.stats())

            def _reply(self, code, obj):
                data = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    service = DedupService(args.port)
    print(f"de-duplicating effects at {service.url}; stats at GET /stats", flush=True)
    service.server.serve_forever()


if __name__ == "__main__":
    main()
