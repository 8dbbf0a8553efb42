"""A generated web site on localhost, for the crawler example."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def page_links(i: int, pages: int) -> list[str]:
    """Page i links to the next page (so all are reachable), two others, a
    missing page, and a page on another host."""
    return [f"/page/{(i + 1) % pages}", f"/page/{(i * 7 + 3) % pages}", f"page/../{(i * 3) % pages}",
            "/missing", "http://other.invalid/x"]


class Site:
    """Serves /page/0 … /page/{pages-1}; `url` is page 0."""

    def __init__(self, pages: int):
        self.pages = pages
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                parts = self.path.split("/")
                if len(parts) != 3 or parts[1] != "page" or not parts[2].isdigit() or int(parts[2]) >= site.pages:
                    self.send_error(404)
                    return
                i = int(parts[2])
                links = "".join(f'<a href="{href}">link</a> ' for href in page_links(i, site.pages))
                body = f"<html><head><title>Page {i}</title></head><body>{links}</body></html>".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = _serve(Handler)
        self.base = f"http://127.0.0.1:{self.server.server_port}/"
        self.url = self.base + "page/0"


def _serve(handler) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
