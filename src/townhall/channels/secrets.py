"""Secrets at rest: channel tokens, app passwords and webhook signing secrets, encrypted with a
key from the environment, and the rotation of that key.

``TOWNHALL_SECRETS_KEY`` is a Fernet key (AES-128-CBC with HMAC-SHA256, from ``cryptography``).
A missing, wrong or weak key is a ``ConfigError`` that says what to do, never a crash.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Connection, MetaData, Table, inspect, select, update

from townhall.errors import ConfigError

SEALED_COLUMNS: tuple[tuple[str, str], ...] = (
    ("channel_states", "secret"),
    ("channel_states", "session"),
    ("webhook_endpoints", "secret_sealed"),
)
"""Every column that holds a sealed secret, as (table, column); a table not in the database
yet (an older schema) is skipped."""


def new_key() -> str:
    """A fresh key for ``TOWNHALL_SECRETS_KEY``."""
    return Fernet.generate_key().decode("ascii")


MIN_DISTINCT_BYTES = 8
"""Fewer distinct bytes than this in a 32-byte key is a typed pattern, not a random key (a
random key has about 30; fewer than 8 happens by chance less than once in 10^36)."""


def fernet_for(key: str | None, name: str = "TOWNHALL_SECRETS_KEY") -> Fernet:
    """The Fernet of ``key``; ``ConfigError`` when it is unset, not a key, or weak (a byte or
    a short pattern repeated, such as a key made of zeros)."""
    if not key:
        raise ConfigError(f"{name} is not set: make a key with `townhall secrets key`")
    try:
        raw = base64.urlsafe_b64decode(key.encode("ascii"))
        fernet = Fernet(key.encode("ascii"))
    except (ValueError, UnicodeEncodeError, binascii.Error):
        raise ConfigError(
            f"{name} is not a valid key (32 url-safe base64-encoded bytes): make one with "
            "`townhall secrets key`"
        ) from None
    if len(set(raw)) < MIN_DISTINCT_BYTES:
        raise ConfigError(
            f"{name} is a weak key (a byte or a short pattern repeated): make one with "
            "`townhall secrets key`"
        )
    return fernet


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
        self._fernet = fernet_for(key)

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


@dataclass
class Rotation:
    """What ``rotate`` re-encrypted: the number of secrets per ``table.column``."""

    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Secrets re-encrypted in all."""
        return sum(self.counts.values())


def rotate(conn: Connection, current_key: str | None, new_key: str, new_name: str) -> Rotation:
    """Re-encrypt every stored secret from ``current_key`` to ``new_key`` (in the caller's
    transaction: all of them, or none when one cannot be opened).

    A secret already sealed with the new key is re-sealed with it, so a rotation cut short
    and run again still succeeds.
    """
    current = fernet_for(current_key)
    new = fernet_for(new_key, new_name)
    if new_key == current_key:
        raise ConfigError(
            f"{new_name} is the current key: make a new one with `townhall secrets key`"
        )
    both = MultiFernet([new, current])  # encrypts with the first, opens with either
    present = set(inspect(conn).get_table_names())
    rotation = Rotation()
    for table_name, column in SEALED_COLUMNS:
        if table_name not in present:
            continue
        table = Table(table_name, MetaData(), autoload_with=conn)
        if column not in table.c:
            continue
        sealed = table.c[column]
        key_columns = list(table.primary_key.columns)
        rows = conn.execute(select(*key_columns, sealed).where(sealed.is_not(None))).all()
        for row in rows:
            *key, token = row
            try:
                fresh = both.rotate(token.encode("ascii"))
            except (InvalidToken, UnicodeEncodeError):
                where = ", ".join(f"{c.name} {v!r}" for c, v in zip(key_columns, key, strict=True))
                raise ConfigError(
                    f"{table_name}.{column} ({where}) cannot be opened with "
                    "TOWNHALL_SECRETS_KEY: is it the key the secrets were stored with? "
                    "Nothing was re-encrypted."
                ) from None
            conn.execute(
                update(table)
                .where(*(c == v for c, v in zip(key_columns, key, strict=True)))
                .values({column: fresh.decode("ascii")})
            )
        rotation.counts[f"{table_name}.{column}"] = len(rows)
    return rotation
