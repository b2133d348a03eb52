"""The policy a running Townhall uses, reloaded without a restart.

``PolicySource`` owns the policy file: admins replace it from the web UI (validated exactly like
``townhall policy check``; the file is replaced atomically), and an edit made on disk is picked
up by ``refresh``. A bad file never replaces a good policy: the running one stays, and the
problems are kept for the admin page to show.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from townhall.errors import PolicyError
from townhall.org.loader import parse_policy, read_policy_text
from townhall.org.policy import Policy

Listener = Callable[[Policy], None]


def text_digest(text: str) -> str:
    """A short fingerprint of policy text (shown in the audit log), 12 hex digits."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _keep_mode_and_owner(fd: int, path: Path) -> None:
    """Give the open file ``fd`` the mode (and, when allowed, the owner) of ``path``, so that
    replacing ``path`` with it changes the text only (mkstemp makes files 0600)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return
    os.fchmod(fd, stat.S_IMODE(st.st_mode))
    if (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
        # Only root may give a file away; anyone else keeps their own ownership.
        with contextlib.suppress(PermissionError):
            os.fchown(fd, st.st_uid, st.st_gid)


class PolicySource:
    """The current policy and the file it comes from; thread-safe."""

    def __init__(self, path: Path, policy: Policy | None = None) -> None:
        """Load ``path`` (raises ``PolicyError``) unless ``policy`` is given for it already."""
        self.path = path
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._text = read_policy_text(path)
        self._stamp = self._stat()
        self._policy = policy if policy is not None else parse_policy(self._text, str(path))
        self.version = 1
        self.problems: list[str] = []
        """Problems of the file on disk when it failed to reload (empty when it is current)."""

    @property
    def policy(self) -> Policy:
        """The policy in force."""
        return self._policy

    @property
    def text(self) -> str:
        """The YAML text of the policy in force."""
        return self._text

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(policy)`` after every change (in the thread that made it)."""
        self._listeners.append(listener)

    def _stat(self) -> tuple[int, int]:
        st = self.path.stat()
        return (st.st_mtime_ns, st.st_size)

    def refresh(self) -> bool:
        """Reload the file if it changed on disk; True when a new policy took effect."""
        try:
            stamp = self._stat()
        except OSError as exc:
            self.problems = [f"{self.path}: cannot read the file: {exc}"]
            return False
        with self._lock:
            if stamp == self._stamp:
                return False
            self._stamp = stamp
            try:
                text = read_policy_text(self.path)
                policy = parse_policy(text, str(self.path))
            except PolicyError as exc:
                self.problems = exc.problems
                return False
            except (OSError, UnicodeDecodeError) as exc:
                self.problems = [f"{self.path}: cannot read the file: {exc}"]
                return False
            self._apply(text, policy)
        self._notify(policy)
        return True

    def replace(self, text: str) -> Policy:
        """Validate ``text`` and make it the policy (file written atomically); raises
        ``PolicyError`` with every problem (lines of ``text``) and changes nothing then."""
        policy = parse_policy(text, str(self.path))
        with self._lock:
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    _keep_mode_and_owner(out.fileno(), self.path)
                    out.write(text)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            self._stamp = self._stat()
            self._apply(text, policy)
        self._notify(policy)
        return policy

    def _apply(self, text: str, policy: Policy) -> None:
        self._text, self._policy = text, policy
        self.version += 1
        self.problems = []

    def _notify(self, policy: Policy) -> None:
        for listener in self._listeners:
            listener(policy)
