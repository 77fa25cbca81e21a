"""Callback-intake benchmark: how many Daraja C2B confirmations one `hesabu serve` worker acknowledges.

Usage: python benchmarks/callbacks.py [--duration 20] [--warmup 2] [--connections 32] [--repeat 0.05]
                                      [--targets sqlite,postgresql,ceiling] [--pg-url URL] [--profile-dir DIR]

One run loads three targets in turn, each a subprocess on a free loopback port:
  sqlite      `hesabu serve` (one uvicorn worker) on a fresh, migrated SQLite file with one business
  postgresql  the same on a fresh PostgreSQL database created on the server of --pg-url (dropped after)
  ceiling     a no-op FastAPI endpoint on uvicorn with the options `hesabu serve` uses: reads the body and
              answers the same JSON, so it is the most one worker of this stack can do on this machine
The load generator is a separate process: a raw asyncio HTTP/1.1 client on keep-alive connections with
pre-serialised requests (unique TransIDs plus a share of repeats of TransIDs already acknowledged). It prints
callbacks per second, p50/p99 acknowledgement latency, and for the hesabu targets the payments stored against
the unique TransIDs acknowledged with 200, then each hesabu target as a share of the ceiling.

With --profile-dir the hesabu servers run under cProfile (the event loop thread and the callback-writer
thread, one .prof file each) and the top functions are printed; figures from a profiled run are not figures.

This is a script that prints figures, not a test: it asserts nothing and exits 0 unless it could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# module level: FastAPI resolves the no-op endpoint's (string) annotations in this module's globals
from fastapi import Request
from fastapi.responses import JSONResponse

ROOT = Path(__file__).resolve().parents[1]
SHORTCODE = "600984"
PLACEHOLDER = "@@@@@@@@@@"  # 10 characters, the length of an M-Pesa receipt number
TARGETS = ("sqlite", "postgresql", "ceiling")
# issue 16's targets, each against the ceiling measured in the same round: throughput share, p99 multiple
GOALS = {"sqlite": 0.50, "postgresql": 0.35}
P99_RATIO_GOAL = 3.0
# the ceiling runs between the hesabu targets so each is compared with what the machine gave a moment apart
ROUND_ORDER = ("sqlite", "ceiling", "postgresql")
ACCEPTED = {"ResultCode": 0, "ResultDesc": "Accepted"}


# ---------------------------------------------------------------------------------------------------------------
# The load generator (runs in its own process: `callbacks.py --_load SPEC OUT`)
# ---------------------------------------------------------------------------------------------------------------

def _templates(shortcode: str, count: int = 500) -> list[tuple[bytes, bytes]]:
    """Realistic bodies from the CLI's own builder, split around the TransID so a request is two joins."""
    sys.path.insert(0, str(ROOT))
    from webhooks.dev.simulator import c2b_body

    rng = random.Random(7)
    first = ["John Doe", "Mary Wanjiku Kamau", "Peter Otieno", "Grace Achieng Odhiambo", "Ali Hassan", "Faith"]
    out = []
    now = datetime.now(UTC)
    for _ in range(count):
        phone = f"07{rng.randint(0, 99_999_999):08d}"
        amount = str(rng.choice([rng.randint(10, 5000), rng.randint(5000, 150_000)])) + rng.choice(["", ".00"])
        ref = rng.choice(["", "INV-" + str(rng.randint(1, 9999)), "ACC" + str(rng.randint(100, 999)), "rent"])
        body = c2b_body(shortcode, amount, ref, phone, rng.choice(first), now)
        body["TransID"] = PLACEHOLDER
        raw = json.dumps(body, separators=(",", ":")).encode()
        prefix, suffix = raw.split(PLACEHOLDER.encode())
        out.append((prefix, suffix))
    return out


def _trans_id(run: str, n: int) -> bytes:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    text = ""
    while n:
        n, r = divmod(n, 36)
        text = digits[r] + text
    return (run + text.rjust(10 - len(run), "0")).encode()


@dataclass
class _LoadState:
    spec: dict[str, Any]
    templates: list[tuple[bytes, bytes]]
    head: bytes
    measure_from: float
    end: float
    sent_unique: int = 0
    latencies: list[float] = field(default_factory=list)
    completed: int = 0  # completions inside the measured window
    total: int = 0
    repeats: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    acked: set[bytes] = field(default_factory=set)  # unique TransIDs answered 200
    acked_requests: list[bytes] = field(default_factory=list)
    bad_bodies: int = 0
    io_errors: int = 0

    def next_request(self, rng: random.Random) -> tuple[bytes, bytes, bool]:
        if self.acked_requests and rng.random() < self.spec["repeat"]:
            request = rng.choice(self.acked_requests)
            return request, b"", True
        self.sent_unique += 1
        tid = _trans_id(self.spec["run_id"], self.sent_unique)
        prefix, suffix = self.templates[self.sent_unique % len(self.templates)]
        length = len(prefix) + len(tid) + len(suffix)
        return b"".join((self.head, b"Content-Length: %d\r\n\r\n" % length, prefix, tid, suffix)), tid, False


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    at = lower.find(b"\r\ncontent-length:")
    if at < 0:
        raise ValueError("response without Content-Length")
    end = lower.index(b"\r\n", at + 2)
    length = int(lower[at + 17:end])
    body = await reader.readexactly(length) if length else b""
    return status, body


async def _connection(state: _LoadState, index: int) -> None:
    rng = random.Random(index)
    host, port = "127.0.0.1", state.spec["port"]
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < state.end:
            request, tid, repeat = state.next_request(rng)
            started = time.perf_counter()
            writer.write(request)
            try:
                status, body = await _read_response(reader)
            except (asyncio.IncompleteReadError, ConnectionError, ValueError):
                state.io_errors += 1
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            done = time.perf_counter()
            state.total += 1
            if started >= state.measure_from:
                state.latencies.append(done - started)
            if state.measure_from <= done <= state.end:
                state.completed += 1
            state.statuses[status] += 1
            state.repeats += repeat
            if status == 200:
                if b'"ResultCode":0' not in body:
                    state.bad_bodies += 1
                if not repeat:
                    state.acked.add(tid)
                    state.acked_requests.append(request)
    finally:
        writer.close()


def _cpu_seconds() -> float:
    usage = os.times()
    return usage.user + usage.system


async def _load(spec: dict[str, Any]) -> dict[str, Any]:
    head = (f"POST {spec['path']} HTTP/1.1\r\nHost: 127.0.0.1:{spec['port']}\r\n"
            "Content-Type: application/json\r\nUser-Agent: Apache-HttpClient/4.5\r\n").encode()
    start = time.perf_counter()
    state = _LoadState(spec=spec, templates=_templates(spec["shortcode"]), head=head,
                       measure_from=start + spec["warmup"], end=start + spec["warmup"] + spec["duration"])
    cpu0 = _cpu_seconds()
    await asyncio.gather(*(_connection(state, i) for i in range(spec["connections"])))
    cpu = _cpu_seconds() - cpu0
    lat = sorted(state.latencies)

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")

    return {
        "rate": state.completed / spec["duration"], "p50_ms": pct(0.50), "p99_ms": pct(0.99),
        "max_ms": lat[-1] * 1000 if lat else float("nan"), "requests": state.total, "repeats": state.repeats,
        "unique_sent": state.sent_unique, "unique_acked": len(state.acked),
        "non_200": {str(k): v for k, v in state.statuses.items() if k != 200},
        "bad_bodies": state.bad_bodies, "io_errors": state.io_errors,
        "loadgen_cpu": cpu / (spec["warmup"] + spec["duration"]),
    }


def load_main(spec_path: str, out_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    result = asyncio.run(_load(spec))
    Path(out_path).write_text(json.dumps(result))


# ---------------------------------------------------------------------------------------------------------------
# The ceiling (runs in its own process: `callbacks.py --_noop PORT`)
# ---------------------------------------------------------------------------------------------------------------

def noop_main(port: int) -> None:
    import uvicorn
    from fastapi import FastAPI

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.post("/c2b/{token}/confirmation")
    async def confirmation(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse(ACCEPTED)

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    # the same options as `hesabu serve` (webhooks/cli.py: serve)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# ---------------------------------------------------------------------------------------------------------------
# hesabu under cProfile (runs in its own process: `callbacks.py --_profiled PORT DIR`)
# ---------------------------------------------------------------------------------------------------------------

def profiled_main(port: int, out_dir: str) -> None:
    """`hesabu serve` with a cProfile per thread (event loop + the callback writer + to_thread workers)."""
    import cProfile
    import threading

    import uvicorn

    sys.path.insert(0, str(ROOT))
    from webhooks.app import create_app
    from webhooks.settings import Settings

    profiles: list[tuple[str, cProfile.Profile]] = []

    def start_thread_profile(*_args: object) -> None:
        sys.setprofile(None)
        profile = cProfile.Profile()
        profiles.append((threading.current_thread().name, profile))
        profile.enable()

    threading.setprofile(start_thread_profile)
    main = cProfile.Profile()
    profiles.append(("main", main))

    def dump(*_args: object) -> None:
        main.disable()
        for name, profile in profiles:
            profile.dump_stats(str(Path(out_dir) / f"{name.replace('/', '_')}.prof"))
        os._exit(0)

    signal.signal(signal.SIGUSR1, dump)
    app = create_app(Settings())
    main.enable()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# ---------------------------------------------------------------------------------------------------------------
# The orchestrator
# ---------------------------------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    request = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode()
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before it was healthy")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.sendall(request)
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server on port {port} not healthy after {timeout:.0f} s")


def _scrape(port: int) -> dict[str, float]:
    """The server's own Prometheus figures: transactions (batches), callbacks per batch, mean store time."""
    request = f"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode()
    chunks = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        while chunk := s.recv(65536):
            chunks.append(chunk)
    values: dict[str, float] = {}
    for line in b"".join(chunks).decode(errors="replace").splitlines():
        for name in ("hesabu_callback_batch_size_count", "hesabu_callback_batch_size_sum",
                     "hesabu_callback_store_seconds_count", "hesabu_callback_store_seconds_sum",
                     "hesabu_callbacks_spooled_total"):
            if line.startswith(name + " "):
                values[name] = float(line.split()[1])
    return values


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process from /proc; 0 when unreadable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _postgres_cpu(dbname: str) -> float:
    """CPU seconds of the local PostgreSQL backends serving `dbname` (0 when the server is not local)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if cmdline.startswith(b"postgres:") and f" {dbname} ".encode() in cmdline:
                total += _proc_cpu(int(entry.name))
    return total


def _stop(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


@dataclass
class Result:
    target: str
    load: dict[str, Any]
    stored: int | None = None
    server_cpu: float = 0.0
    db_cpu: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="hesabu-bench-"))
        self.procs: list[subprocess.Popen[bytes]] = []
        self.pg_db: str | None = None

    # --- environment ---------------------------------------------------------------------------------------
    def _env(self, url: str, name: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HESABU_")}
        spool = self.tmp / f"{name}-spool"
        spool.mkdir(exist_ok=True)
        env.update(HESABU_DATABASE_URL=url, HESABU_SPOOL_DIR=str(spool), PYTHONPATH=str(ROOT))
        return env

    def _hesabu(self, env: dict[str, str], *args: str) -> str:
        # cwd is the temp dir so no stray .env in the working tree changes the settings
        done = subprocess.run([sys.executable, "-m", "webhooks", *args], env=env, cwd=self.tmp,
                              capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"hesabu {' '.join(args)} failed: {done.stderr.strip()[-2000:]}")
        return done.stdout

    def _pg_admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.args.pg_url, autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def _pg_url_for(self, dbname: str) -> str:
        from sqlalchemy.engine import make_url

        admin = make_url(self.args.pg_url)
        return admin.set(drivername="postgresql+psycopg", database=dbname).render_as_string(hide_password=False)

    def _count_payments(self, target: str, url: str) -> int:
        if target == "sqlite":
            import sqlite3

            with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
                return int(conn.execute("SELECT count(*) FROM payment").fetchone()[0])
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
            row = conn.execute("SELECT count(*) FROM payment").fetchone()
            return int(row[0]) if row else 0

    # --- one target ----------------------------------------------------------------------------------------
    def run_target(self, target: str, round_no: int = 0) -> Result:
        port = _free_port()
        token, env, url = "0" * 32, dict(os.environ), ""
        if target == "ceiling":
            cmd = [sys.executable, str(Path(__file__).resolve()), "--_noop", str(port)]
        else:
            if target == "sqlite":
                url = f"sqlite:///{self.tmp / f'hesabu-{round_no}.db'}"
            else:
                self.pg_db = f"hesabu_bench_{os.getpid()}"
                self._pg_admin(f'DROP DATABASE IF EXISTS "{self.pg_db}"')
                self._pg_admin(f'CREATE DATABASE "{self.pg_db}"')
                url = self._pg_url_for(self.pg_db)
            env = self._env(url, f"{target}-{round_no}")
            self._hesabu(env, "migrate")
            business = json.loads(self._hesabu(env, "business", "add", "Bench Shop", "--shortcode", SHORTCODE,
                                               "--json"))
            token = business["token"]
            if self.args.profile_dir:
                out = Path(self.args.profile_dir) / target
                out.mkdir(parents=True, exist_ok=True)
                cmd = [sys.executable, str(Path(__file__).resolve()), "--_profiled", str(port), str(out)]
            else:
                cmd = [sys.executable, "-m", "webhooks", "serve", "--host", "127.0.0.1", "--port", str(port)]
        log = (self.tmp / f"{target}-{round_no}-server.log").open("wb")
        proc = subprocess.Popen(cmd, env=env, cwd=self.tmp, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        try:
            _wait_healthy(port, proc)
            spec = {"port": port, "path": f"/c2b/{token}/confirmation", "shortcode": SHORTCODE,
                    "duration": self.args.duration, "warmup": self.args.warmup,
                    "connections": self.args.connections, "repeat": self.args.repeat,
                    "run_id": {"sqlite": "S", "postgresql": "P", "ceiling": "C"}[target] + "0123456789"[round_no % 10]}
            spec_path = self.tmp / f"{target}-{round_no}-spec.json"
            out_path = self.tmp / f"{target}-{round_no}-result.json"
            spec_path.write_text(json.dumps(spec))
            cpu0, db0 = _proc_cpu(proc.pid), _postgres_cpu(self.pg_db) if target == "postgresql" else 0.0
            loader = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--_load", str(spec_path),
                                       str(out_path)], cwd=self.tmp)
            self.procs.append(loader)
            if loader.wait() != 0:
                raise RuntimeError(f"load generator failed with {loader.returncode}")
            elapsed = self.args.warmup + self.args.duration
            result = Result(target, json.loads(out_path.read_text()),
                            server_cpu=(_proc_cpu(proc.pid) - cpu0) / elapsed)
            if target != "ceiling" and not self.args.profile_dir:
                result.metrics = _scrape(port)
            if target == "postgresql":
                assert self.pg_db is not None
                result.db_cpu = (_postgres_cpu(self.pg_db) - db0) / elapsed
        finally:
            if self.args.profile_dir and target != "ceiling":
                _stop(proc, signal.SIGUSR1)
            _stop(proc)
            log.close()
        if target != "ceiling":
            result.stored = self._count_payments(target, url)
        return result

    def drop_pg(self) -> None:
        if self.pg_db is not None:
            try:
                self._pg_admin(f'DROP DATABASE IF EXISTS "{self.pg_db}" WITH (FORCE)')
            except Exception as exc:  # noqa: BLE001 - report, keep cleaning
                print(f"warning: could not drop database {self.pg_db}: {exc}", file=sys.stderr)
            self.pg_db = None

    def cleanup(self) -> None:
        for proc in reversed(self.procs):
            with contextlib.suppress(Exception):
                _stop(proc)
        self.drop_pg()
        if self.args.keep:
            print(f"kept {self.tmp}", file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def _report(rounds: list[dict[str, Result]], args: argparse.Namespace) -> None:
    print()
    print(f"load average at the end (other work on this machine skews figures): {os.getloadavg()[0]:.2f}")
    print(f"callback intake: {args.connections} keep-alive connections, {args.duration:g} s measured after "
          f"{args.warmup:g} s warm-up, {args.repeat:.0%} repeats, one uvicorn worker, {os.cpu_count()} cores, "
          f"{len(rounds)} round(s) of {', '.join(t for t in ROUND_ORDER if t in rounds[0])}")
    header = (f"{'round':<5} {'target':<11} {'cb/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'requests':>9} "
              f"{'stored/unique acked':>20} {'non-200':>10} {'srv CPU':>8} {'db CPU':>7} {'load CPU':>8}")
    print(header)
    print("-" * len(header))
    for number, results in enumerate(rounds, 1):
        for name, r in results.items():
            print(f"{number:<5} {_row(name, r)}")
    print("(CPU columns: share of one core used by the server process, the PostgreSQL backends, the load generator)")
    for number, results in enumerate(rounds, 1):
        for name, r in results.items():
            m = r.metrics
            if m.get("hesabu_callback_batch_size_count"):
                batches = m["hesabu_callback_batch_size_count"]
                stores = max(1.0, m["hesabu_callback_store_seconds_count"])
                store_ms = m["hesabu_callback_store_seconds_sum"] / stores * 1000
                print(f"{number:<5} {name:<11} server metrics: {batches:.0f} transactions, "
                      f"{m['hesabu_callback_batch_size_sum'] / batches:.1f} callbacks per transaction, "
                      f"mean receipt-to-commit {store_ms:.1f} ms, "
                      f"{m.get('hesabu_callbacks_spooled_total', 0):.0f} spooled")
    print()
    print("against the no-op endpoint of the same round (throughput share; p99 as a multiple of its p99):")
    for name, goal in GOALS.items():
        pairs = [(r[name].load, r["ceiling"].load) for r in rounds if name in r and "ceiling" in r]
        pairs = [(t, c) for t, c in pairs if c["rate"] > 0 and c["p99_ms"] > 0]
        if not pairs:
            continue
        shares = [t["rate"] / c["rate"] for t, c in pairs]
        p99s = [t["p99_ms"] / c["p99_ms"] for t, c in pairs]
        share, p99 = statistics.median(shares), statistics.median(p99s)
        each = "  ".join(f"{a:.0%}/{b:.1f}x" for a, b in zip(shares, p99s, strict=True))
        print(f"{name:<11} median {share:6.1%} of the endpoint's throughput (target >= {goal:.0%}: "
              f"{'meets' if share >= goal else 'MISSES'}); p99 {p99:.1f}x its p99 (target <= {P99_RATIO_GOAL:g}x: "
              f"{'meets' if p99 <= P99_RATIO_GOAL else 'MISSES'}); rounds: {each}")


def _row(name: str, r: Result) -> str:
    load = r.load
    stored = f"{r.stored}/{load['unique_acked']}" if r.stored is not None else "-"
    if r.stored is not None:
        stored += " ok" if r.stored == load["unique_acked"] else " MISMATCH"
    non200 = ",".join(f"{k}x{v}" for k, v in load["non_200"].items()) or "0"
    if load["io_errors"] or load["bad_bodies"]:
        non200 += f" io{load['io_errors']} bad{load['bad_bodies']}"
    db = f"{r.db_cpu:.0%}" if r.db_cpu is not None else "-"
    return (f"{name:<11} {load['rate']:>8.0f} {load['p50_ms']:>8.1f} {load['p99_ms']:>8.1f} {load['max_ms']:>8.1f} "
            f"{load['requests']:>9} {stored:>20} {non200:>10} {r.server_cpu:>8.0%} {db:>7} {load['loadgen_cpu']:>8.0%}")


def _print_profiles(profile_dir: str) -> None:
    import pstats

    for path in sorted(Path(profile_dir).rglob("*.prof")):
        stats = pstats.Stats(str(path))
        if not stats.total_calls:  # type: ignore[attr-defined]
            continue
        print(f"\n=== {path} (top 25 by internal time) ===")
        stats.sort_stats("tottime").print_stats(25)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--_load"]:
        load_main(argv[1], argv[2])
        return 0
    if argv[:1] == ["--_noop"]:
        noop_main(int(argv[1]))
        return 0
    if argv[:1] == ["--_profiled"]:
        profiled_main(int(argv[1]), argv[2])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of measured load per target and round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of sqlite, ceiling, postgresql (fresh databases)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of unmeasured load first")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--repeat", type=float, default=0.05, help="share of requests repeating an acked TransID")
    parser.add_argument("--targets", default=",".join(TARGETS), help="comma-separated subset of " + ",".join(TARGETS))
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"),
                        help="an existing database on the server where the benchmark database is created")
    parser.add_argument("--profile-dir", help="run the hesabu servers under cProfile and write .prof files here")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory (server logs, SQLite file)")
    args = parser.parse_args(argv)
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    unknown = set(targets) - set(TARGETS)
    if unknown:
        parser.error(f"unknown targets: {', '.join(sorted(unknown))}")

    def on_term(_sig: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    bench = Bench(args)
    rounds: list[dict[str, Result]] = []
    try:
        for round_no in range(args.rounds):
            results: dict[str, Result] = {}
            for target in [t for t in ROUND_ORDER if t in targets]:
                print(f"round {round_no + 1}/{args.rounds}: loading {target} ...", file=sys.stderr, flush=True)
                results[target] = bench.run_target(target, round_no)
                if target == "postgresql":
                    bench.drop_pg()
            rounds.append(results)
    except KeyboardInterrupt:
        print("interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        bench.cleanup()
    _report(rounds, args)
    if args.profile_dir:
        _print_profiles(args.profile_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
