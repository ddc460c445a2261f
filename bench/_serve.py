"""Shared by the HTTP benches: databases (SQLite demo, throwaway PostgreSQL), gunicorn on loopback, load.

Load comes from `wrk` when it is installed (apt-get install wrk), else from a bounded Python generator
(threads over http.client); both only ever talk to 127.0.0.1.
"""
from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VENV_BIN = ROOT / ".venv" / "bin"
SECRET = "bench-secret-key-not-for-production"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(database_url: str, instance: str, populate) -> None:
    """Create the schema and fill it, in this process; the app under test runs in gunicorn."""
    os.environ["STRATEGY_INSTANCE_PATH"] = instance
    from strategy import create_app
    from strategy.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": SECRET})
    with app.app_context():
        db.create_all()
        populate()
        db.session.remove()
        db.engine.dispose()


@contextmanager
def postgres(dbname: str = "bench"):
    """A throwaway PostgreSQL server (as the tests start one) with an empty database; yields its URL."""
    import psycopg

    from tests.support.postgres import start_server

    server = start_server()
    try:
        with psycopg.connect(host="127.0.0.1", port=server.port, user="postgres", dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')
        yield server.url(dbname)
    finally:
        server.stop()


@contextmanager
def sqlite_instance():
    folder = tempfile.mkdtemp(prefix="strategy-bench-")
    try:
        yield folder, f"sqlite:///{folder}/bench.sqlite3"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def gunicorn(database_url: str, instance: str, workers: int = 2, app: str = "wsgi:app", ready: str = "/healthz",
             settle: float = 4.0):
    """gunicorn (sync workers) serving `app` (wsgi:app, or bench.bare_app:app for the bare Flask endpoint) on a
    free loopback port with the same settings; stopped by its pid afterwards."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "STRATEGY_INSTANCE_PATH": instance, "SECRET_KEY": SECRET}
    process = subprocess.Popen(
        [str(VENV_BIN / "gunicorn"), "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "--chdir", str(ROOT), app],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _, _ = request(port, ready)
                if status == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start: " + process.stderr.read().decode()[-2000:])
            time.sleep(0.2)
        time.sleep(settle)  # each worker's PDF renderers load WeasyPrint in the background (gunicorn.conf.py)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def request(port: int, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


@dataclass
class Result:
    label: str
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


_WRK_SCRIPT = """
done = function(summary, latency, requests)
  io.write(string.format('{"requests": %d, "micros": %d, "p50": %d, "p95": %d, "errors": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status +
    summary.errors.timeout))
end
"""


def load(label: str, port: int, path: str, *, connections: int = 16, seconds: float = 8.0,
         headers: dict | None = None, expect: int = 200) -> Result:
    """Closed-loop load at `connections` for `seconds` (after a short warm-up)."""
    url = f"http://127.0.0.1:{port}{path}"
    if shutil.which("wrk"):
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(_WRK_SCRIPT)
        try:
            args = ["wrk", "-t", "2", "-c", str(connections), "-s", script.name]
            for name, value in (headers or {}).items():
                args += ["-H", f"{name}: {value}"]
            subprocess.run(args + ["-d", "2s", url], check=True, capture_output=True)  # warm-up
            out = subprocess.run(args + ["-d", f"{int(seconds)}s", url], check=True, capture_output=True,
                                 text=True).stdout
        finally:
            os.unlink(script.name)
        figures = json.loads(out.strip().splitlines()[-1])
        return Result(label, figures["requests"], figures["micros"] / 1e6, figures["p50"] / 1000,
                      figures["p95"] / 1000, figures["errors"])
    return _python_load(label, port, path, connections, seconds, headers or {}, expect)


def _python_load(label, port, path, connections, seconds, headers, expect) -> Result:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def worker():
        mine, bad = [], 0
        while time.monotonic() < stop_at and len(mine) < 1_000_000:
            started = time.perf_counter()
            try:
                status, _, _ = request(port, path, headers)
            except OSError:
                status = 0
            mine.append(time.perf_counter() - started)
            bad += status != expect
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    def p(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else 0.0

    return Result(label, len(latencies), elapsed, p(0.5), p(0.95), errors[0])


def print_table(title: str, results: list[Result], baseline: Result, baseline_label: str = "vs trivial") -> None:
    print(f"\n{title}")
    print(f"  {'endpoint':<38} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {baseline_label:>10} {'errors':>7}")
    for r in results:
        ratio = r.rps / baseline.rps if baseline.rps else 0
        print(f"  {r.label:<38} {r.rps:>8.0f} {r.p50_ms:>8.1f} {r.p95_ms:>8.1f} {ratio:>9.2f}x {r.errors:>7}")


def machine() -> str:
    import platform

    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = f" · load average {os.getloadavg()[0]:.1f} (other work on the machine skews every figure)"
    return f"{platform.node()} · {os.cpu_count()} cores · {cpu} · Python {platform.python_version()}{load}"


def median(values):
    return statistics.median(values) if values else 0.0
