"""A real HTTP receiver on loopback that verifies Standard Webhooks signatures, and can
be down (refuses connections), failing (500) or slow (answers after a delay)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    headers: dict[str, str]
    body: dict[str, Any]
    verified: bool


@dataclass
class Receiver:
    secret: str | None = None
    status: int = 200
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    hits: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                with receiver.lock:
                    receiver.hits += 1
                if receiver.delay:
                    time.sleep(receiver.delay)
                verified = False
                if receiver.secret:
                    try:
                        Webhook(receiver.secret).verify(raw, dict(self.headers.items()))
                        verified = True
                    except WebhookVerificationError:
                        verified = False
                status = receiver.status if verified or not receiver.secret else 401
                if status < 300:
                    with receiver.lock:
                        receiver.received.append(
                            Received(
                                {k.lower(): v for k, v in self.headers.items()},
                                json.loads(raw),
                                verified,
                            )
                        )
                body = b'{"ok": true}' if status < 300 else b"receiver says no" * 100
                try:
                    self.send_response(status)
                    self.send_header("content-length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # the default 5 refuses a burst of parallel deliveries

        self.server = Server(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Down: the port refuses connections until :meth:`start` again."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
