"""Answering an HTTP request with a JSON body: what every stand-in for another service that the tests and tools
serve on loopback does (Azure DevOps' ID token service, Entra ID, the Azure DevOps REST API)."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any

JSON = "application/json; charset=utf-8"


def send_json(handler: BaseHTTPRequestHandler, status: int, body: Any, content_type: str = JSON) -> None:
    """Answer `handler`'s request with `status` and `body` as JSON."""
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
