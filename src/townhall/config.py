"""One settings object, read from the environment (prefix ``TOWNHALL_``)."""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
import stat
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from townhall.errors import ConfigError

log = logging.getLogger(__name__)

MIN_SECRET_CHARS = 32
"""Shortest ``TOWNHALL_SECRET_KEY`` (and operator token) accepted, in characters."""

MIN_DISTINCT_CHARS = 8
"""Fewest different characters in a secret: ``aaaa…`` or ``abababab…`` is refused."""

MAKE_A_SECRET = "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"  # noqa: S105
"""The command the error message suggests for a good secret."""

DEFAULT_TRUSTED_HOSTS = ["localhost", "127.0.0.1", "[::1]"]
"""Host names answered when ``TOWNHALL_TRUSTED_HOSTS`` is unset: local use only."""


def weak_secret_problem(value: str, min_chars: int = MIN_SECRET_CHARS) -> str | None:
    """Why ``value`` is too weak to be a secret (None when it is acceptable)."""
    if len(value) < min_chars:
        return f"is too short ({_characters(len(value))}; at least {min_chars} are needed)"
    if len(set(value)) < MIN_DISTINCT_CHARS:
        return (
            f"has too little variety ({_characters(len(set(value)), 'different ')}; a random "
            f"key has dozens, at least {MIN_DISTINCT_CHARS} are needed)"
        )
    return None


def _characters(count: int, kind: str = "") -> str:
    return f"{count} {kind}character{'' if count == 1 else 's'}"


def owner_only(path: Path) -> None:
    """Make an existing file readable and writable by its owner only (0600), and log a
    warning when it was open to others."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        path.chmod(0o600)
        log.warning(
            "%s was readable by others (mode %04o); it is 0600 (owner only) now", path, mode
        )


class Settings(BaseSettings):
    """Runtime settings; every field can be set as ``TOWNHALL_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="TOWNHALL_", extra="ignore")

    home: Path = Field(
        default=Path(".townhall"),
        description="Folder for the embedded SQLite database and the generated secret key.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL, e.g. postgresql+psycopg://user@127.0.0.1/townhall. "
        "Unset: SQLite at <home>/townhall.db.",
    )
    broker_url: str | None = Field(
        default=None,
        description="Redis URL of the broker, e.g. redis://127.0.0.1:6379/0. Set: listeners and "
        "`townhall ingest` publish posts to the Redis stream and `townhall worker` processes "
        "store them. Unset: everything runs in one process.",
    )
    policy: Path = Field(
        default=Path("examples/acme/policy.yaml"),
        description="The organisation policy YAML file.",
    )
    secret_key: str | None = Field(
        default=None,
        description="Signs session cookies: at least 32 random characters (make one with "
        f"`{MAKE_A_SECRET}`). Unset: a random key kept in <home>/secret.key (mode 0600).",
    )
    trusted_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_TRUSTED_HOSTS),
        description="Host names the web app answers to, comma-separated; a leading `*.` "
        "matches any subdomain (`townhall.example.com,*.example.org`), `*` any host. Other "
        "Host headers get a 400. Default: localhost, 127.0.0.1 and ::1 only.",
    )
    operator_token: str | None = Field(
        default=None,
        description="Bearer token that may read `/readyz` (counts, database and schema checks) "
        "without logging in: at least 32 random characters. Unset: only admins may.",
    )
    cookie_secure: bool = Field(
        default=True,
        description="Send the session cookie only over HTTPS. `townhall demo` and "
        "`townhall serve` on a loopback address turn it off, since they serve plain HTTP.",
    )
    batch_size: int = Field(default=500, ge=1, le=100_000, description="Posts per pipeline batch.")
    queue_interval: float = Field(
        default=5.0,
        ge=0,
        le=3600,
        description="Seconds between passes of the queue worker in the web server (SLA "
        "breaches, escalation, automatic assignment, policy file reload); 0 turns it off.",
    )
    smtp_url: str | None = Field(
        default=None,
        pattern=r"^(smtp|smtp\+starttls|smtps)://[^/?#\s]+/?$",
        description="SMTP server for alert e-mails: smtp://host:25 (no TLS: a local relay), "
        "smtp+starttls://user:password@host:587 (STARTTLS) or smtps://user:password@host:465 "
        "(TLS); percent-encode special characters in the user and password. "
        "Unset: no alert e-mails.",
    )
    alert_timeout: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="Seconds one attempt to deliver an alert (SMTP or webhook) may take.",
    )
    alert_attempts: int = Field(
        default=3,
        ge=1,
        le=10,
        description="Attempts per alert and channel when the server is unavailable (connection "
        "errors, timeouts, SMTP 4xx, HTTP 429/5xx), with exponential backoff between them.",
    )

    max_future_seconds: float = Field(
        default=300.0,
        ge=0,
        le=86_400 * 366,
        description="Clock skew allowed for a post's date: a post dated further after the "
        "moment it is ingested or heard is rejected with its line or id named.",
    )
    secrets_key: str | None = Field(
        default=None,
        description="Encrypts the channel tokens and passwords stored by `townhall channels "
        "connect` (a Fernet key: `townhall channels key` makes one). Unset: secrets come only "
        "from the environment variables the policy's channels name.",
    )
    listen: bool = Field(
        default=True,
        description="`townhall serve` runs the listeners of the policy's live channels and the "
        "publisher in-process; false leaves that to `townhall listen` and `townhall publish run`.",
    )
    channel_timeout: float = Field(
        default=10.0, gt=0, le=300, description="Seconds one request to a network may take."
    )
    publish_lease: float = Field(
        default=120.0,
        gt=0,
        le=86_400,
        description="Seconds a publisher holds a claimed post; a post still claimed after that "
        "belongs to a publisher that died, and is reconciled (read back from the network) "
        "before any retry. Must exceed TOWNHALL_CHANNEL_TIMEOUT.",
    )

    @field_validator("secret_key", "operator_token")
    @classmethod
    def _strong_secret(cls, value: str | None, info: ValidationInfo) -> str | None:
        if not value:
            return None
        name = info.field_name or "secret"
        problem = weak_secret_problem(value)
        if problem is not None:
            raise ConfigError(
                f"TOWNHALL_{str(name).upper()} {problem}. Make a good one with "
                f"`{MAKE_A_SECRET}`"
                + (", or unset it to let Townhall generate one." if name == "secret_key" else ".")
            )
        return value

    @field_validator("trusted_hosts", mode="before")
    @classmethod
    def _host_patterns(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part for part in (p.strip() for p in value.split(",")) if part]
        if not isinstance(value, list):
            return value
        patterns: list[str] = []
        for pattern in value:
            if not isinstance(pattern, str):
                return value  # pydantic says what is wrong with it
            pattern = pattern.strip().lower()
            wildcard_elsewhere = "*" in pattern[1:] or pattern[:2] not in ("*.", "*")
            if "*" in pattern and pattern != "*" and wildcard_elsewhere:
                raise ValueError(
                    f"{pattern!r}: a wildcard may only start a name, as in *.example.com"
                )
            try:
                if ipaddress.ip_address(pattern).version == 6:
                    pattern = f"[{pattern}]"  # the Host header brackets IPv6 addresses
            except ValueError:
                pass
            patterns.append(pattern)
        if not patterns:
            raise ValueError("name at least one host, or * for any")
        return patterns

    def channel_secret(self, variable: str) -> str | None:
        """The secret in the environment variable a channel names (None when unset or empty)."""
        return os.environ.get(variable) or None

    def resolved_database_url(self) -> str:
        """The database URL, defaulting to SQLite inside ``home``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'townhall.db').resolve()}"

    def resolved_secret_key(self) -> str:
        """The session-signing key; generated once and kept in ``home`` when not set.

        The key file is born 0600 (never readable by others, not even for a moment) and
        appears whole: two processes starting at once end up with the same key.
        """
        if self.secret_key:
            return self.secret_key
        path = self.home / "secret.key"
        if not path.exists():
            self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
            _create_key_file(path, secrets.token_urlsafe(48))
        owner_only(path)
        key = path.read_text(encoding="utf-8").strip()
        problem = weak_secret_problem(key)
        if problem is not None:
            raise ConfigError(
                f"{path}: the secret key {problem}. Delete the file to let Townhall make a new "
                "one (everyone will have to log in again), or set TOWNHALL_SECRET_KEY."
            )
        return key


def _create_key_file(path: Path, key: str) -> None:
    """Write ``key`` to a new file ``path`` with mode 0600, atomically; when another process
    created ``path`` first, keep theirs."""
    # mkstemp opens with O_CREAT | O_EXCL and mode 0600; the key is complete on disk before
    # the link gives it its name, and link (unlike rename) never replaces an existing file.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret.key.")
    try:
        os.write(fd, key.encode("ascii"))
        os.fsync(fd)
        os.close(fd)
        fd = -1
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process made the key first: use theirs
        except OSError:
            # A file system without hard links: fall back to an exclusive create, same mode.
            out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(out, key.encode("ascii"))
                os.fsync(out)
            finally:
                os.close(out)
    finally:
        if fd != -1:
            os.close(fd)
        Path(tmp).unlink(missing_ok=True)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests build their own ``Settings``); a bad
    environment variable is a ``ConfigError`` naming it."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = "TOWNHALL_" + "_".join(str(part) for part in error["loc"]).upper()
            problems.append(f"{name}: {str(error['msg']).removeprefix('Value error, ')}")
        raise ConfigError("\n".join(problems)) from None
