"""A throwaway PostgreSQL server for the test run, started from the installed server binaries.

PostgreSQL refuses to run as root, and CI runs as root: then the server runs as the `postgres` user
through runuser, in a temporary folder that user owns, on a free loopback port.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass


def find_bindir() -> str | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(candidate, "pg_ctl")):
            return candidate
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PostgresServer:
    bindir: str
    datadir: str
    port: int
    as_postgres: bool

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"

    def _run(self, *args: str) -> None:
        command = [os.path.join(self.bindir, args[0]), *args[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> None:
        self._run("initdb", "-D", self.datadir, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--locale=C.UTF-8", "--no-sync")
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.datadir} -c fsync=off " \
                  "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        self._run("pg_ctl", "-D", self.datadir, "-o", options, "-w", "-t", "60", "-l",
                  os.path.join(self.datadir, "server.log"), "start")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("PostgreSQL did not start")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", self.datadir, "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(os.path.dirname(self.datadir), ignore_errors=True)


def start_server() -> PostgresServer:
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin")
    as_postgres = os.geteuid() == 0
    parent = tempfile.mkdtemp(prefix="strategy-pg-")
    datadir = os.path.join(parent, "data")
    os.mkdir(datadir, 0o700)
    if as_postgres:
        shutil.chown(parent, "postgres")
        shutil.chown(datadir, "postgres", "postgres")
        os.chmod(parent, 0o755)
    # Parallel test workers each start a server: another may take the free port between probe and start.
    for attempt in range(3):
        server = PostgresServer(bindir, datadir, _free_port(), as_postgres)
        try:
            server.start()
            return server
        except (subprocess.CalledProcessError, RuntimeError):
            if attempt == 2:
                raise
            # pg_ctl -w waited for the server, which exited when it could not bind; start on a clean folder
            shutil.rmtree(datadir, ignore_errors=True)
            os.mkdir(datadir, 0o700)
            if as_postgres:
                shutil.chown(datadir, "postgres", "postgres")
    raise AssertionError("unreachable")
