"""A merchant's notify endpoint for tests: records every POST and answers as told."""

import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

from tests.support.processes import free_port


class NotifyReceiver:
    def __init__(self):
        self.port = free_port()
        self.received: dict[str, list[dict]] = defaultdict(list)  # out_trade_no -> posts
        self.answers: dict[str, list[str]] = {}  # out_trade_no -> bodies to answer, in order
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/notify"

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                form = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
                answer = receiver._record(form, raw, dict(self.headers))
                payload = answer.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        return Handler

    def _record(self, form: dict, raw: bytes, headers: dict) -> str:
        key = form.get("out_trade_no", "")
        with self.lock:
            self.received[key].append(
                {"form": form, "raw": raw, "headers": headers, "at": time.monotonic()}
            )
            queue = self.answers.get(key)
            return queue.pop(0) if queue else "success"

    def answer(self, out_trade_no: str, *bodies: str) -> None:
        """The next answers for this trade's notifies; `success` once they run out."""
        with self.lock:
            self.answers[out_trade_no] = list(bodies)

    def posts(self, out_trade_no: str) -> list[dict]:
        with self.lock:
            return list(self.received[out_trade_no])

    def wait_for(self, out_trade_no: str, count: int, timeout: float = 30.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            posts = self.posts(out_trade_no)
            if len(posts) >= count:
                return posts
            time.sleep(0.02)
        raise AssertionError(
            f"expected {count} notifies for {out_trade_no}, got {len(self.posts(out_trade_no))}"
        )

    def start(self) -> "NotifyReceiver":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
