"""A local HTTP receiver for webhooks: records every POST; can refuse the next few."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Hook:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str = ""
    hooks: list[Hook] = field(default_factory=list)
    refuse: int = 0  # answer 503 to this many more requests
    refused: int = 0

    def clear(self) -> None:
        self.hooks.clear()
        self.refuse = self.refused = 0

    def wait_for(self, count: int, timeout: float = 20) -> list[Hook]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.hooks) < count:
            time.sleep(0.05)
        return list(self.hooks)


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            if receiver.refuse > 0:
                receiver.refuse -= 1
                receiver.refused += 1
                self.send_response(503)
            else:
                receiver.hooks.append(Hook({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
            self.end_headers()

        def log_message(self, *_args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/credx"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
