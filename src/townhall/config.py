"""One settings object, read from the environment (prefix ``TOWNHALL_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    policy: Path = Field(
        default=Path("examples/acme/policy.yaml"),
        description="The organisation policy YAML file.",
    )
    secret_key: str | None = Field(
        default=None,
        description="Signs session cookies. Unset: a random key kept in <home>/secret.key.",
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

    def channel_secret(self, variable: str) -> str | None:
        """The secret in the environment variable a channel names (None when unset or empty)."""
        import os

        return os.environ.get(variable) or None

    def resolved_database_url(self) -> str:
        """The database URL, defaulting to SQLite inside ``home``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'townhall.db').resolve()}"

    def resolved_secret_key(self) -> str:
        """The session-signing key; generated once and kept in ``home`` when not set."""
        if self.secret_key:
            return self.secret_key
        import secrets

        path = self.home / "secret.key"
        if path.exists():
            return path.read_text().strip()
        self.home.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests build their own ``Settings``)."""
    return Settings()
