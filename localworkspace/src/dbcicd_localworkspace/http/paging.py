"""Opaque page tokens for list endpoints: the sort key of the last item on the page, so a page never repeats or
skips items when the list changes between calls."""

from __future__ import annotations

import base64
import binascii

from .errors import invalid_parameter


def encode_token(last_key: str) -> str:
    return base64.urlsafe_b64encode(last_key.encode()).decode()


def decode_token(token: str, field: str) -> str:
    """The key the previous page ended at ('' for the first page); 400 naming `field` for a token not made here."""
    if not token:
        return ""
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid_parameter(f"Invalid {field} '{token}': pass back the token a previous page gave") from None
