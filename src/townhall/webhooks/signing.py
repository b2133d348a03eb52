"""Signatures on webhook bodies.

Outgoing (Townhall → a receiver): ``Townhall-Signature: t=<unix seconds>,v1=<hex>`` where the
hex is HMAC-SHA256 of ``"<t>.<raw body>"`` with the endpoint's secret. The timestamp is signed
too, so a captured request cannot be replayed after the tolerance window; a receiver checks it
with ``verify_signature`` (or the few lines of docs/webhooks.md).

Incoming (another tool → Townhall): GitHub's scheme, ``X-Hub-Signature-256: sha256=<hex>`` of
HMAC-SHA256 over the raw body with the channel's shared secret.

Pure: no clock (``now`` is passed in, in Unix seconds), no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "Townhall-Signature"
EVENT_HEADER = "Townhall-Event"
DELIVERY_HEADER = "Townhall-Delivery"
HUB_SIGNATURE_HEADER = "X-Hub-Signature-256"

TOLERANCE = 300
"""Seconds a signature's timestamp may be away from the receiver's clock."""

MAX_HEADER = 4096
"""Longest signature header looked at (characters); anything longer is refused unread."""


def new_secret() -> str:
    """A fresh endpoint secret (``whsec_`` and 32 random bytes, url-safe)."""
    return "whsec_" + secrets.token_urlsafe(32)


def _mac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``Townhall-Signature`` header value for ``body`` sent at ``timestamp`` (Unix s)."""
    return f"t={timestamp},v1={_mac(secret, str(timestamp).encode('ascii') + b'.' + body)}"


def verify_signature(
    secret: str, header: str | None, body: bytes, now: float, tolerance: float = TOLERANCE
) -> bool:
    """Whether ``header`` (a ``Townhall-Signature`` value) signs ``body`` with ``secret`` at a
    time within ``tolerance`` seconds of ``now`` (Unix seconds).

    For receivers: pass the raw request body, exactly as received (not re-encoded JSON). Several
    ``v1=`` entries are allowed (any one matching is enough), so a secret can be rolled over.
    """
    if not header or len(header) > MAX_HEADER:
        return False
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif key == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates or abs(now - timestamp) > tolerance:
        return False
    expected = _mac(secret, str(timestamp).encode("ascii") + b"." + body)
    return any(hmac.compare_digest(expected, c.lower()) for c in candidates if c.isascii())


def hub_signature(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub's scheme sends for ``body``."""
    return "sha256=" + _mac(secret, body)


def verify_hub_signature(secret: str, header: str | None, body: bytes) -> bool:
    """Whether ``header`` is the ``X-Hub-Signature-256`` of ``body`` with ``secret``."""
    if not header or len(header) > MAX_HEADER or not header.isascii():
        return False
    scheme, _, digest = header.strip().partition("=")
    if scheme.lower() != "sha256" or not digest:
        return False
    return hmac.compare_digest(_mac(secret, body), digest.lower())
