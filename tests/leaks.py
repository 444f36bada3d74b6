"""Finding a secret where it must not be: whole, as the Basic credentials an HTTP client would send, or any piece
of FRAGMENT or more consecutive characters of it — what remains when a log line or a truncated field cuts a secret
that masking only recognises whole."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

FRAGMENT = 12
_ANCHOR = FRAGMENT // 2  # every FRAGMENT-long piece holds one whole _ANCHOR-long block of the secret


@dataclass(frozen=True)
class Secret:
    name: str  # for messages, e.g. "System.AccessToken"
    value: str
    basic_user: str = ""  # who sends it as `Authorization: Basic base64(user:secret)`

    def basic(self) -> bytes:
        return base64.b64encode(f"{self.basic_user}:{self.value}".encode())

    def found_in(self, text: bytes) -> bool:
        return self.basic() in text or _holds_piece(self.value.encode(), text)


def _holds_piece(value: bytes, text: bytes) -> bool:
    """Whether `text` holds FRAGMENT or more consecutive bytes of `value` (found from aligned blocks, then grown)."""
    for start in range(0, len(value) - _ANCHOR + 1, _ANCHOR):
        end = start + _ANCHOR
        at = text.find(value[start:end])
        while at >= 0:
            before = 0
            while before < start and before < at and text[at - before - 1] == value[start - before - 1]:
                before += 1
            after = 0
            while end + after < len(value) and at + _ANCHOR + after < len(text):
                if text[at + _ANCHOR + after] != value[end + after]:
                    break
                after += 1
            if before + _ANCHOR + after >= FRAGMENT:
                return True
            at = text.find(value[start:end], at + 1)
    return False


def leaks(secrets: Iterable[Secret], texts: Iterable[tuple[str, bytes]]) -> list[str]:
    """'<secret> in <where>' for every secret found in a text."""
    texts = list(texts)
    return [f"{secret.name} in {where}" for secret in secrets for where, text in texts if secret.found_in(text)]


def files_since(roots: Iterable[Path], since: float) -> list[tuple[str, bytes]]:
    """Every file under `roots` written at or after `since` (a time.time()), as (path, bytes)."""
    found = []
    for root in roots:
        for path in root.rglob("*"):
            try:
                if path.is_file() and not path.is_symlink() and path.stat().st_mtime >= since:
                    found.append((str(path), path.read_bytes()))
            except OSError:
                continue  # removed meanwhile (a notebook's scratch file)
    return found
