"""App and export-worker processes on one PostgreSQL database, started the way production starts them
(gunicorn with gunicorn.conf.py, `flask export-worker`), each in a process group of its own so a test can
kill one with SIGKILL, renderers and all. They import the code of this checkout (cwd and PYTHONPATH)."""
from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from strategy import PROJECT_ROOT


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path
    url: str = ""

    @property
    def pid(self) -> int:
        return self.popen.pid

    def kill(self) -> None:
        """SIGKILL to the whole group: the process and the renderer processes it started."""
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.popen.wait(timeout=30)

    def stop(self) -> None:
        if self.popen.poll() is not None:
            return
        try:
            os.killpg(self.popen.pid, signal.SIGTERM)
            self.popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
        except ProcessLookupError:
            pass
        try:  # the renderers of a stopped worker end with it; anything left over goes too
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@dataclass
class Cluster:
    """Processes sharing one database and one instance folder (its config.py holds the settings)."""

    database_url: str
    folder: Path
    settings: dict
    processes: list[Process] = field(default_factory=list)

    def __post_init__(self) -> None:
        (self.folder / "instance").mkdir(parents=True, exist_ok=True)
        (self.folder / "instance" / "config.py").write_text(
            "".join(f"{key} = {value!r}\n" for key, value in self.settings.items()))

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "DATABASE_URL": self.database_url, "SECRET_KEY": "cluster-test-secret",
                "STRATEGY_INSTANCE_PATH": str(self.folder / "instance"),
                "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}

    def _start(self, name: str, command: list[str]) -> Process:
        log = self.folder / f"{name}.log"
        with open(log, "wb") as out:  # a file, not a pipe: a full pipe would block the process
            popen = subprocess.Popen(command, cwd=PROJECT_ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def flask(self, *args: str) -> str:
        """Run a flask command to its end; returns its output."""
        done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=PROJECT_ROOT, env=self.env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def start_app(self, name: str) -> Process:
        port = _free_port()
        process = self._start(name, [sys.executable, "-m", "gunicorn", "--workers", "1", "--threads", "4",
                                     "--bind", f"127.0.0.1:{port}", "wsgi:app"])
        process.url = f"http://127.0.0.1:{port}"
        return process

    def start_worker(self, name: str) -> Process:
        return self._start(name, [sys.executable, "-m", "flask", "--app", "wsgi", "export-worker", "--name", name])

    def wait_until_serving(self, process: Process, timeout: float = 180) -> None:
        """A busy machine (parallel test workers) may take a minute to boot gunicorn."""
        host, port = process.url.removeprefix("http://").split(":")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert process.popen.poll() is None, process.log.read_text()
            connection = http.client.HTTPConnection(host, int(port), timeout=30)
            try:
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.2)
            finally:
                connection.close()
        raise AssertionError(f"{process.name} did not answer: {process.log.read_text()[-2000:]}")

    def stop(self) -> None:
        for process in self.processes:
            process.stop()


def get(url: str) -> http.client.HTTPResponse:
    """One GET without following redirects; the body is read."""
    host_port, _, path = url.removeprefix("http://").partition("/")
    host, port = host_port.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=120)
    connection.request("GET", "/" + path)
    response = connection.getresponse()
    response.body = response.read()
    connection.close()
    return response


# The queue's settings for these processes: a dead worker is noticed within seconds, not half a minute.
QUEUE_SETTINGS = {
    "EXPORT_QUEUE": "procrastinate",
    "PDF_WARM_UP": False,  # the app processes render no framework; workers start theirs on the first job
    "PDF_RENDER_TIMEOUT": 900,  # a busy test machine; the limit is not what these tests check
    "PASSWORD_HASH_PARAMETERS": {"time_cost": 1, "memory_cost": 8, "parallelism": 1},
    "EXPORT_WORKER_HEARTBEAT_SECONDS": 0.5,
    "EXPORT_WORKER_STALLED_SECONDS": 3.0,
    "EXPORT_STALLED_CHECK_SECONDS": 0.5,
    "EXPORT_JOB_REFRESH_SECONDS": 1,
}


@contextmanager
def queue_cluster(request, tmp_path: Path, monkeypatch, populate: Callable[[], Any]):
    """A fresh PostgreSQL database with the queue's schema (through `flask export-queue-schema`) and
    `populate()`'s data, for processes started from the returned Cluster (stopped afterwards). `cluster.hold`
    is the EXPORT_JOB_HOLD_FILE: workers hold each job, marked running, until it exists; `cluster.data` is
    what populate returned; `cluster.app` an app on the same database for the test's own look."""
    from strategy.extensions import db
    from tests.conftest import fresh_database, make_test_app

    hold = tmp_path / "release-jobs"
    with fresh_database("postgresql", request, tmp_path) as url:
        cluster = Cluster(url, tmp_path, {**QUEUE_SETTINGS, "EXPORT_JOB_HOLD_FILE": str(hold)})
        assert "Warteschlange angelegt." in cluster.flask("export-queue-schema")
        monkeypatch.setenv("STRATEGY_INSTANCE_PATH", str(tmp_path / "test-instance"))
        app = make_test_app(url)
        with app.app_context():
            cluster.data = populate()
            db.session.remove()
        cluster.app, cluster.hold = app, hold
        try:
            yield cluster
        finally:
            cluster.stop()
            with app.app_context():
                db.engine.dispose()
