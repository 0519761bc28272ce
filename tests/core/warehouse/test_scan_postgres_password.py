"""A real wrong-password failure, against a private PostgreSQL cluster that demands SCRAM passwords.

The shared test server trusts every local connection, so it cannot refuse a password. This starts
a throw-away cluster (initdb + pg_ctl, about a second) whose only rule is scram-sha-256, and stops
and deletes it afterwards. Skipped where the PostgreSQL server binaries are not installed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from cartridge_core.errors import WarehouseError
from cartridge_core.progress import NullProgress
from cartridge_core.warehouse import scan_warehouse
from tests.core.warehouse.conftest import pg_target

pytestmark = pytest.mark.postgres

PASSWORD = "right-Horse-battery-9"
USER = "cartridge"


def _server_bindir() -> Path | None:
    """Where initdb and pg_ctl live: pg_config's answer, else whatever initdb is on PATH."""
    try:
        found = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True)
        bindir = Path(found.stdout.strip())
        if (bindir / "initdb").exists():
            return bindir
    except (OSError, subprocess.CalledProcessError):
        pass
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def password_server() -> Iterator[int]:
    """A private PostgreSQL cluster on 127.0.0.1 requiring a SCRAM password; yields its port."""
    bindir = _server_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    # initdb refuses to run as root: run it as the postgres user then.
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_user and not shutil.which("runuser"):
        pytest.skip("running as root without runuser: cannot start a private cluster")
    root = Path(tempfile.mkdtemp(prefix="cartridge-pg-"))
    (root / "pw").write_text(PASSWORD)
    if as_user:
        shutil.chown(root, "postgres")
        shutil.chown(root / "pw", "postgres")
    data, port = root / "data", _free_port()

    def run(*args: str) -> None:
        subprocess.run([*as_user, *args], check=True, capture_output=True, timeout=60)

    try:
        run(
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            USER,
            "-A",
            "scram-sha-256",
            f"--pwfile={root / 'pw'}",
            "--no-sync",
            "--no-instructions",
            "-E",
            "UTF8",
        )
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        run(str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start")
        yield port
    finally:
        if (data / "postmaster.pid").exists():
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


def test_scan_postgres_wrong_password(password_server: int) -> None:
    """A wrong password gives one line naming host, port, database and user, never the password."""
    wrong = "wrong-" + PASSWORD
    target = pg_target("postgres", port=password_server, user=USER, password=wrong)
    with pytest.raises(WarehouseError) as caught:
        scan_warehouse(target, schemas=None, progress=NullProgress())
    message = caught.value.message
    assert message == (
        f"Cannot connect to PostgreSQL at 127.0.0.1:{password_server}, database postgres: "
        f'password authentication failed for user "{USER}"'
    )
    assert wrong not in message and PASSWORD not in message


def test_scan_postgres_right_password(password_server: int) -> None:
    """The profile's password reaches the server: with the right one the scan succeeds."""
    target = pg_target("postgres", port=password_server, user=USER, password=PASSWORD)
    scan = scan_warehouse(target, schemas=None, progress=NullProgress())
    assert scan.schemas == ("public",)
