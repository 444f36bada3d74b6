"""The HTTP face of the local workspace: a threaded server on 127.0.0.1 speaking Databricks' REST dialect.

Usable three ways: `dbcicd local serve` (prints DATABRICKS_HOST/DATABRICKS_TOKEN, serves until SIGINT/SIGTERM),
in-process (`with LocalWorkspaceServer() as server: WorkspaceClient(host=server.host, token=server.token)`),
and as the pytest fixture `local_workspace` (tests/conftest.py).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import ssl
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ..private import private_folder
from ..services.compute import WORKSPACE_ID
from ..services.oauth import TOKEN_PATH, OAuth, OAuthClient
from ..workspace import LocalWorkspace
from . import token_directory
from .admin import ADMIN_PREFIX, answer_admin
from .errors import ApiError, invalid_access_to_org, invalid_access_token, unauthenticated
from .faults import FaultInjector, FaultRule
from .pages import answer_page, is_page
from .request import Request, Response
from .router import NoRoute, Router
from .routes import PUBLIC_PATHS, build_public_router
from .server_token import server_token
from .tenants import Tenant, Tenants
from .unrouted import UnroutedLog, UnroutedRequest

MAX_BODY_BYTES = 64 * 1024 * 1024


class _DropConnection(Exception):
    """Close the connection without answering (fault injection)."""


class LocalWorkspaceServer:
    """A local workspace served over HTTP (or HTTPS, given an `ssl_context`) on 127.0.0.1.

    `token`, `workspace`, `faults`, `calls` and `oauth` are those of the default tenant; `new_tenant()` makes an
    isolated one with a token of its own (tenants.py).
    """

    def __init__(
        self,
        root: Path | str | None = None,
        port: int = 0,
        token: str | None = None,
        faults: Iterable[FaultRule] = (),
        ssl_context: ssl.SSLContext | None = None,
        spark_remote: str = "",
    ) -> None:
        """`ssl_context` (a server-side context holding the certificate chain) serves HTTPS instead of HTTP;
        `spark_remote` (`sc://host:port`) points the `local` cluster at that Spark Connect server."""
        self._owns_root = root is None
        # mkdtemp makes a 0700 folder; a given root is made so (private.py).
        self.root = private_folder(Path(root)) if root is not None else Path(tempfile.mkdtemp(prefix="dbcicd-local-"))
        self._httpd = _HTTPServer(("127.0.0.1", port), _Handler)
        self._httpd.app = self
        if ssl_context is not None:
            # The handshake happens in the request's own thread, on its first read, so a client that refuses the
            # certificate does not hold up accepting others.
            self._httpd.socket = ssl_context.wrap_socket(
                self._httpd.socket, server_side=True, do_handshake_on_connect=False
            )
        self.port = self._httpd.server_address[1]
        self.host = f"{'https' if ssl_context else 'http'}://127.0.0.1:{self.port}"
        self.oidc = OAuth(self.host)
        self.public_router: Router = build_public_router(self.oidc)
        self.tenants = Tenants(
            self.root, self.host, self.oidc, server_token(self.root, token), list(faults), spark_remote
        )
        self.unrouted = UnroutedLog()
        self._thread: threading.Thread | None = None

    # --- the default tenant -------------------------------------------------------------------------------
    @property
    def default_tenant(self) -> Tenant:
        return self.tenants.default

    @property
    def token(self) -> str:
        return self.tenants.default.token

    @property
    def workspace(self) -> LocalWorkspace:
        return self.tenants.default.workspace

    @property
    def faults(self) -> FaultInjector:
        return self.tenants.default.faults

    @property
    def calls(self) -> Counter[str]:
        return self.tenants.default.calls

    @property
    def oauth(self) -> OAuthClient:
        return self.tenants.default.oauth

    def environment(self) -> dict[str, str]:
        """The variables a Databricks client needs to talk to this workspace (its default tenant)."""
        return self.tenants.default.environment()

    # --- tenants and the record of unrouted requests ---------------------------------------------------------
    def new_tenant(self) -> Tenant:
        """An isolated workspace on this server, reached with its own token (`tenant.token`, `tenant.environment()`)
        or OAuth credentials (`tenant.oauth`); retire it with `close_tenant`."""
        return self.tenants.new()

    def close_tenant(self, tenant: Tenant) -> None:
        self.tenants.close(tenant)

    def unrouted_requests(self, tenant: Tenant | None = None) -> list[UnroutedRequest]:
        """The requests no route answered, of one tenant or of all, oldest first."""
        return self.unrouted.requests(tenant.name if tenant else None)

    def drain_unrouted(self, tenant: Tenant | None = None) -> list[UnroutedRequest]:
        """Like `unrouted_requests`, removing them from the record."""
        return self.unrouted.drain(tenant.name if tenant else None)

    # --- life cycle ---------------------------------------------------------------------------------------
    def start(self) -> LocalWorkspaceServer:
        """Serve in a background thread (for in-process use)."""
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="local-workspace", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve on the calling thread until `stop()` is called from elsewhere (e.g. a signal handler)."""
        self._httpd.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        """Stop serving, kill active runs, and remove the root if it was a temporary one."""
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.tenants.close_all()
        if self._owns_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> LocalWorkspaceServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- request handling ---------------------------------------------------------------------------------
    def tenant_of(self, req: Request) -> Tenant | None:
        """The tenant a request is for: the one its bearer token belongs to, or for a token request the one whose
        client it names. None when it names none (it is then counted against the default tenant and refused,
        unless public)."""
        found = self.tenants.by_authorization(req.headers.get("Authorization"))
        if found is None and req.path == TOKEN_PATH:
            client = self.oidc.named_client(req)
            found = self.tenants.by_token(client.access_token) if client else None
        return found


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    app: LocalWorkspaceServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-request is routine (timeouts, cancelled pipelines, a refused certificate): not
        # worth a trace.
        exc = sys.exc_info()[1]
        if not isinstance(exc, (ConnectionError, TimeoutError, ssl.SSLError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle's algorithm and delayed ACKs each response would
    # wait ~40 ms for the client's ACK.
    disable_nagle_algorithm = True
    server: _HTTPServer
    server_version = "dbcicd-local-workspace"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        pass  # request logs would drown test output; the call counters record traffic instead

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def _dispatch(self) -> None:
        app = self.server.app
        path, _, query = self.path.partition("?")
        try:
            body = self._read_body()
        except ApiError as err:
            self.close_connection = True
            self._send_error(err)
            return
        req = Request(self.command, path, query, self.headers, body)
        if is_page(self.command, path):  # for browsers, without a token: see pages.py for who may read them
            self._send(answer_page(app.workspace.jobs, app.port, req, self.client_address[0]))
            return
        tenant = app.tenant_of(req)
        counted = tenant or app.default_tenant
        try:
            if path.startswith(ADMIN_PREFIX):
                self._send(answer_admin(self._authenticated(tenant), app.unrouted, req))
                return
            counted.count(self.command, path)
            rule = counted.faults.pick(self.command, path)
            if rule is not None and rule.latency_ms:
                if rule.latency_at == "during":
                    req.work_delay = rule.latency_ms / 1000
                else:
                    time.sleep(rule.latency_ms / 1000)
            if rule is not None and rule.drop == "before":
                raise _DropConnection
            if rule is not None and rule.status is not None:
                code, message = rule.error()
                headers = {"Retry-After": str(rule.retry_after)} if rule.retry_after is not None else {}
                raise ApiError(rule.status, code, message, headers)
            router = app.public_router if path in PUBLIC_PATHS else self._authenticated(tenant).router
            try:
                route, req.params = router.match(self.command, path)
            except NoRoute:
                app.unrouted.record(counted.name, self.command, path)
                raise
            result = route.handler(req)
            time.sleep(req.take_work_delay())
            if rule is not None and rule.drop == "after":
                raise _DropConnection
            self._send(result)
        except _DropConnection:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
        except ApiError as err:
            self._send_error(err)
        except Exception as err:  # never let one bad request take the server down
            traceback.print_exc(file=sys.stderr)
            self._send_error(ApiError(500, "INTERNAL_ERROR", f"Internal error: {type(err).__name__}: {err}"))

    def _authenticated(self, tenant: Tenant | None) -> Tenant:
        if tenant is None:
            if self.headers.get("Authorization") is None:
                # No source records the real body for a request without credentials; 401 is what HTTP means.
                raise unauthenticated(
                    "Unauthorized: no credentials were sent. Send 'Authorization: Bearer <DATABRICKS_TOKEN>'."
                )
            scheme, _, token = self.headers.get("Authorization", "").partition(" ")
            issuer = token_directory.issuer(token) if scheme == "Bearer" else None
            if issuer is not None and issuer != self.server.app.host:
                raise invalid_access_to_org(WORKSPACE_ID)  # a token of another workspace (another server)
            raise invalid_access_token()
        return tenant

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length_header = self.headers.get("Content-Length") or "0"
        try:
            length = int(length_header)
        except ValueError:
            raise ApiError(400, "BAD_REQUEST", f"Invalid Content-Length '{length_header}'") from None
        if length < 0:
            raise ApiError(400, "BAD_REQUEST", f"Invalid Content-Length '{length_header}'")
        if length > MAX_BODY_BYTES:
            raise _too_large()
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        chunks, total = [], 0
        while True:
            size_line = self.rfile.readline(1024).split(b";")[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise ApiError(400, "BAD_REQUEST", "Malformed chunked request body") from None
            if size == 0:
                while self.rfile.readline(1024).strip():
                    pass  # trailers
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:
                raise _too_large()
            chunks.append(self.rfile.read(size))
            self.rfile.readline(8)

    def _send_error(self, err: ApiError) -> None:
        self._send(Response(json.dumps(err.body()).encode(), err.status, "application/json", err.headers))

    def _send(self, result: Any) -> None:
        if not isinstance(result, Response):
            result = Response(json.dumps(result).encode(), 200, "application/json")
        self.send_response(result.status)
        self.send_header("Content-Type", result.content_type)
        for name, value in result.headers.items():
            self.send_header(name, value)
        if "Content-Length" not in result.headers:
            self.send_header("Content-Length", str(len(result.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(result.body)


def _too_large() -> ApiError:
    return ApiError(413, "REQUEST_LIMIT_EXCEEDED", f"The request body exceeds {MAX_BODY_BYTES // 2**20} MiB")
