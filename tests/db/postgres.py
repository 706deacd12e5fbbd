"""Throwaway PostgreSQL clusters for tests (imported as `db.postgres`; tests/ is on sys.path).

`server()` is this process's PostgreSQL: `GIFTCERT_TEST_POSTGRES_URL` when set (a database the
tests may create schemas in), else a cluster of its own started once per process (so once per
xdist worker) in a temp folder on a free port, stopped at exit. `Cluster` starts one more, e.g.
for a test that restarts the server under a follower. Each test gets its own schema of that
server (`fresh_schema_url`), so tests never see each other's tables, locks included (the index's
advisory locks are keyed by schema).

PostgreSQL refuses to run as root: as root, initdb, pg_ctl and postgres run as the `postgres`
user (Debian's package creates it) through runuser. Without the binaries the test fails at once
with the apt-get line, as the browser tests do for Chromium.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

URL_VARIABLE = "GIFTCERT_TEST_POSTGRES_URL"
INSTALL = "sudo apt-get install postgresql (or set GIFTCERT_TEST_POSTGRES_URL to a database)"


def find_binary(name: str) -> str:
    """initdb / pg_ctl from PATH, else the newest /usr/lib/postgresql/*/bin (Debian)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit()
                        else 0)
    if candidates:
        return candidates[-1]
    pytest.fail(f"PostgreSQL is not installed ({name} not found): run: {INSTALL}",
                pytrace=False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run_as() -> str | None:
    """The user to run the server as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    pytest.fail("running as root and no `postgres` user to run PostgreSQL as: run: "
                f"{INSTALL}", pytrace=False)


class Cluster:
    """One PostgreSQL server: `initdb` into a temp folder, `pg_ctl start` on a free port."""

    def __init__(self) -> None:
        self.user = _run_as()
        self.directory = Path(tempfile.mkdtemp(prefix="giftcert-pg-"))
        self.data = self.directory / "data"
        self.port = _free_port()
        self.log = self.directory / "server.log"
        if self.user:
            info = pwd.getpwnam(self.user)
            os.chown(self.directory, info.pw_uid, info.pw_gid)
        self._run(find_binary("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                  "-E", "UTF8", "--no-sync", "--no-instructions")
        self.start()

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = list(args)
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120,
                              cwd=self.directory)
        if check and done.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed: {done.stdout}{done.stderr}"
                               f"{self._log_tail()}")
        return done

    def _log_tail(self) -> str:
        try:
            return "\n" + "\n".join(self.log.read_text().splitlines()[-20:])
        except OSError:
            return ""

    def start(self) -> None:
        options = (f"-c port={self.port} -c listen_addresses=127.0.0.1 "
                   f"-c unix_socket_directories={self.directory} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300 "
                   "-c shared_buffers=32MB")
        self._run(find_binary("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o",
                  options, "-w", "-t", "60", "start")
        self.wait_ready()

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"PostgreSQL did not listen on {self.port}{self._log_tail()}")

    def stop(self, mode: str = "fast") -> None:
        self._run(find_binary("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop",
                  check=False)

    def restart(self, down_seconds: float = 0.0) -> None:
        """Stops the server (fast: every session is ended), waits, starts it again."""
        self.stop("fast")
        time.sleep(down_seconds)
        self.start()

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)


_server: str | None = None


def server() -> str:
    """This process's PostgreSQL URL (started on first use, stopped at exit)."""
    global _server
    if _server is None:
        external = os.environ.get(URL_VARIABLE, "").strip()
        if external:
            _server = external
        else:
            cluster = Cluster()
            atexit.register(cluster.destroy)
            _server = cluster.url
    return _server


def fresh_schema_url(base: str | None = None) -> tuple[str, str]:
    """(URL whose search_path is a new, empty schema of `base`, the schema's name)."""
    from sqlalchemy import create_engine, text

    base = base or server()
    name = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
    finally:
        engine.dispose()
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{name}", name


def drop_schema(name: str, base: str | None = None) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(base or server(), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("SET lock_timeout = '10s'"))  # never hang a test run on it
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    except Exception:  # noqa: BLE001 - a schema left behind is harmless in a throwaway cluster
        pass
    finally:
        engine.dispose()
