"""A throw-away PostgreSQL server on 127.0.0.1 for the fault tests: started, restarted and
stopped by the fixture (the run's own server, shared by every test, is never restarted).

PostgreSQL refuses to run as root, so as root the cluster belongs to the ``postgres`` user
(as in ``scripts/services.sh``); its folder lives directly under the system's temporary folder
because pytest's are private to root.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from redis_server import free_port


def _bin(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if found:
        return str(found[-1])
    path = shutil.which(name)
    assert path, f"{name} is not installed (make system-deps)"
    return path


class PostgresServer:
    """One cluster with database ``townhall``; ``url`` stays the same on restart."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="townhall-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/townhall"
        self._as_root = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        command = list(args)
        if self._as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        if not self.data.exists():
            self.folder.chmod(0o755)
            self.data.mkdir()
            if self._as_root:
                user = pwd.getpwnam("postgres")
                os.chown(self.data, user.pw_uid, user.pw_gid)
            self._run(_bin("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                      "--no-sync")  # fmt: skip
            self._start()
            admin = create_engine(
                f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres",
                isolation_level="AUTOCOMMIT",
            )
            with admin.connect() as conn:
                conn.execute(text("CREATE DATABASE townhall"))
            admin.dispose()
        else:
            self._start()

    def _start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.data} -F -c fsync=off"
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.data / "server.log"),
                  "-w", "-t", "60", "-o", options, "start")  # fmt: skip

    def stop(self) -> None:
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def restart(self, down_for: float = 1.0) -> None:
        """Stop (closing every connection), stay down ``down_for`` seconds, start again."""
        self.stop()
        time.sleep(down_for)
        self._start()

    def answers(self) -> bool:
        engine = create_engine(self.url, connect_args={"connect_timeout": 2})
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except OperationalError:
            return False
        finally:
            engine.dispose()

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # not running
            self._run(_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)
