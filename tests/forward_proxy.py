"""A forward proxy on 127.0.0.1 for the tests, recording every request it passed on: plain HTTP requests in absolute
form (`GET http://host/path HTTP/1.1`, forwarded one by one) and CONNECT tunnels (for HTTPS, relayed byte for byte).

With `username` and `password` it asks for Basic proxy authentication (407 with Proxy-Authenticate), as
authenticating proxies do; `record` notes whether each request carried the right credentials. It only forwards to
loopback addresses, and stops by itself after `lifetime` seconds should a test forget to.
"""

from __future__ import annotations

import base64
import http.client
import select
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

LOOPBACK = ("127.0.0.1", "localhost", "::1")
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authorization", "proxy-connection", "transfer-encoding", "te"}


@dataclass(frozen=True)
class Passed:
    method: str  # GET, POST, ... or CONNECT
    target: str  # http://127.0.0.1:port/path (no query) or host:port for CONNECT
    authenticated: bool


@dataclass
class ForwardProxy:
    username: str = ""
    password: str = ""
    lifetime: float = 300
    record: list[Passed] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="forward-proxy", daemon=True)
        self._timer = threading.Timer(self.lifetime, self.stop)
        self._timer.daemon = True

    def __enter__(self) -> ForwardProxy:
        self._thread.start()
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._timer.cancel()
        self._server.shutdown()
        self._server.server_close()

    def note(self, passed: Passed) -> None:
        with self._lock:
            self.record.append(passed)

    def passed(self) -> list[Passed]:
        with self._lock:
            return list(self.record)

    def authorized(self, header: str | None) -> bool:
        if not self.username:
            return True
        expected = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return header == f"Basic {expected}"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    proxy: ForwardProxy

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients and upstreams hanging up are routine here


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _admit(self) -> bool:
        if self.server.proxy.authorized(self.headers.get("Proxy-Authorization")):
            return True
        self.send_response(407)
        self.send_header("Proxy-Authenticate", 'Basic realm="test proxy"')
        self.send_header("Content-Length", "0")
        self.end_headers()
        return False

    def do_CONNECT(self) -> None:
        host, _, port = self.path.rpartition(":")
        if host.strip("[]") not in LOOPBACK:
            self.send_error(403)
            return
        authenticated = self._admit()
        self.server.proxy.note(Passed("CONNECT", self.path, authenticated))
        if not authenticated:
            return
        upstream = socket.create_connection((host.strip("[]"), int(port)))
        self.send_response(200, "Connection established")
        self.end_headers()
        sockets = [self.connection, upstream]
        try:
            while True:
                readable, _, _ = select.select(sockets, [], [], 30)
                if not readable:
                    break
                for source in readable:
                    data = source.recv(65536)
                    if not data:
                        return
                    (upstream if source is self.connection else self.connection).sendall(data)
        finally:
            upstream.close()
            self.close_connection = True

    def _forward(self) -> None:
        parts = urlsplit(self.path)
        if parts.scheme != "http" or parts.hostname not in LOOPBACK:
            self.send_error(403)
            return
        authenticated = self._admit()
        self.server.proxy.note(Passed(self.command, f"http://{parts.netloc}{parts.path}", authenticated))
        if not authenticated:
            return
        body = self._body()
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP | {"content-length"}}
        upstream = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=120)
        try:
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            upstream.request(self.command, target, body=body, headers=headers)
            response = upstream.getresponse()
            payload = response.read()
            self.send_response(response.status, response.reason)
            for name, value in response.getheaders():
                if name.lower() not in HOP_BY_HOP | {"content-length"}:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
        finally:
            upstream.close()

    def _body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else None

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _forward
