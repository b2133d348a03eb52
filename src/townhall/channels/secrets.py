"""Channel secrets at rest: tokens and app passwords encrypted with a key from the environment.

``TOWNHALL_SECRETS_KEY`` is a Fernet key (AES-128-CBC with HMAC-SHA256, from ``cryptography``).
A missing or wrong key is a ``ConfigError`` that says what to do, never a crash.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken

from townhall.errors import ConfigError


def new_key() -> str:
    """A fresh key for ``TOWNHALL_SECRETS_KEY``."""
    return Fernet.generate_key().decode("ascii")


class SecretBox:
    """Encrypts and decrypts channel secrets with one key."""

    def __init__(self, key: str | None) -> None:
        if not key:
            raise ConfigError(
                "TOWNHALL_SECRETS_KEY is not set: stored channel secrets cannot be read or "
                "written. Make a key with `townhall channels key` and set it in the environment "
                "of every Townhall process (or give the channel's token in the environment "
                "variable its policy names)."
            )
        try:
            self._fernet = Fernet(key.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raise ConfigError(
                "TOWNHALL_SECRETS_KEY is not a valid key (32 url-safe base64-encoded bytes): "
                "make one with `townhall channels key`."
            ) from None

    def seal(self, secret: str) -> str:
        """``secret`` encrypted (url-safe text)."""
        return self._fernet.encrypt(secret.encode("utf-8")).decode("ascii")

    def open(self, sealed: str, what: str = "a stored secret") -> str:
        """The secret ``sealed`` holds; ``ConfigError`` when this key did not seal it."""
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError, UnicodeError):
            raise ConfigError(
                f"TOWNHALL_SECRETS_KEY cannot decrypt {what}: it is not the key the secret was "
                "stored with. Set the original key, or connect the channel again."
            ) from None
