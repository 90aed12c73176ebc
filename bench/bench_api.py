"""Load benchmark of the HTTP service on loopback (bounded in time and requests).

1. ``POST /api/v1/triage`` from 32 concurrent keep-alive clients, twice: saturated (each client
   sends its next request as soon as the last returns) and paced (each client pauses ~250 ms
   between requests, like an operator's debounced typing): latency percentiles, errors,
   throughput. A request to an unknown path under the same load is the reference (the cost of
   the HTTP stack and middleware alone, on the same machine in the same run).
2. ``POST /api/v1/cases``: 10,000 requests from 32 concurrent clients on PostgreSQL, then the
   cases table must hold exactly 10,000 rows.
3. Resident memory (VmRSS / VmHWM) of the service process with the model loaded.

The service runs as ``triage serve`` in a subprocess on 127.0.0.1; the load generator is a small
asyncio HTTP/1.1 client (cheap per request, so it takes little CPU from the service).

    python bench/bench_api.py                       # everything, JSON summary on stdout
    python bench/bench_api.py --skip-cases          # only the suggestion endpoint and RSS
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = (REPO / ".." / "shared" / "data" / "tipdm2020").resolve()
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))  # support/: the helpers shared with the tests


def load_texts(n: int, seed: int = 7) -> list[str]:
    """Real petition texts (messages.csv title + body) when the shared data is present, else synthetic."""
    path = SHARED / "messages.csv"
    if path.exists():
        import pandas as pd

        df = pd.read_csv(path)
        texts = (df["title"].fillna("") + "\n" + df["body"].fillna("")).str.slice(0, 5000).tolist()
    else:
        from support.synthetic import petition_text

        rng = random.Random(seed)
        texts = [petition_text(rng)[1] for _ in range(2000)]
    rng = random.Random(seed)
    return [rng.choice(texts) for _ in range(n)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (robust to other load on the machine, unlike latency)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_memory_mb(pid: int) -> dict[str, float]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = round(int(value.split()[0]) / 1024, 1)
    return out


class Server:
    """``triage serve`` in a subprocess with its own database; a token for one operator."""

    def __init__(self, database_url: str, workers: int = 1) -> None:
        self.port = free_port()
        self.env = os.environ | {"TRIAGE_DATABASE_URL": database_url}
        self.workers = workers

    def __enter__(self) -> Server:
        add = [sys.executable, "-m", "triage.cli", "users", "add", "bench", "--role", "operator"]
        out = subprocess.run(add, env=self.env, capture_output=True, text=True, check=True, cwd=REPO)
        self.token = out.stdout.strip().splitlines()[-1]
        cmd = [
            sys.executable,
            "-m",
            "triage.cli",
            "serve",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
        ]
        cmd += ["--workers", str(self.workers)]
        self.proc = subprocess.Popen(cmd, env=self.env, cwd=REPO)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")
                    if s.recv(64).startswith(b"HTTP/1.1 200"):
                        return self
            except OSError:
                time.sleep(0.2)
        self.proc.kill()
        raise RuntimeError("service did not become healthy within 120 s")

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


async def _request(reader, writer, raw: bytes) -> tuple[int, bytes]:
    writer.write(raw)
    await writer.drain()
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed")
    status = int(status_line.split()[1])
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    body = await reader.readexactly(length) if length else b""
    return status, body


def _raw(method: str, path: str, token: str, payload: object | None = None) -> bytes:
    body = json.dumps(payload, ensure_ascii=False).encode() if payload is not None else b""
    head = f"{method} {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n"
    if payload is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + body


def measure(
    server: Server, requests: list[bytes], concurrency: int, expect: int, think_ms: float = 0.0
) -> dict[str, object]:
    cpu0 = proc_cpu_seconds(server.proc.pid)
    out = asyncio.run(_load(server.port, requests, concurrency, expect, think_ms))
    out["server_cpu_ms_per_request"] = round(
        1000 * (proc_cpu_seconds(server.proc.pid) - cpu0) / len(requests), 3
    )
    return out


async def _load(
    port: int, requests: list[bytes], concurrency: int, expect: int, think_ms: float = 0.0
) -> dict[str, object]:
    """``concurrency`` keep-alive clients; each sends its next request when the last one returned,
    after a pause of ``think_ms`` (uniform ±50 %; 0 = closed loop at saturation)."""
    latencies: list[float] = []
    errors: list[str] = []
    queue = iter(requests)
    rng = random.Random(3)

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        if think_ms:
            await asyncio.sleep(rng.uniform(0, think_ms) / 1000)  # spread the clients' phases
        try:
            for raw in queue:
                t0 = time.perf_counter()
                try:
                    status, body = await _request(reader, writer, raw)
                except (ConnectionError, asyncio.IncompleteReadError) as exc:
                    errors.append(repr(exc))
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    continue
                latencies.append(time.perf_counter() - t0)
                if status != expect:
                    errors.append(f"{status}: {body[:200]!r}")
                if think_ms:
                    await asyncio.sleep(rng.uniform(0.5, 1.5) * think_ms / 1000)
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    latencies.sort()

    def pct(p: float) -> float:
        return (
            round(1000 * latencies[min(len(latencies) - 1, int(p * len(latencies)))], 2) if latencies else 0.0
        )

    return {
        "requests": len(requests),
        "concurrency": concurrency,
        "think_ms": think_ms,
        "errors": len(errors),
        "error_samples": errors[:3],
        "seconds": round(elapsed, 2),
        "throughput_rps": round(len(latencies) / elapsed, 1),
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "max_ms": round(1000 * latencies[-1], 2) if latencies else 0.0,
    }


def bench_triage(n: int, concurrency: int, workers: int, think_ms: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp, Server(f"sqlite:///{tmp}/bench.db", workers) as server:
        texts = load_texts(n)
        warm = [_raw("POST", "/api/v1/triage", server.token, {"text": t}) for t in texts[:200]]
        asyncio.run(_load(server.port, warm, concurrency, 200))
        # Reference: an unknown path answered by the same stack (middleware, JSON error body), no work.
        probe = [_raw("GET", "/api/v1/none", server.token) for _ in range(n)]
        reference = measure(server, probe, concurrency, 404)
        triage = [_raw("POST", "/api/v1/triage", server.token, {"text": t}) for t in texts]
        saturated = measure(server, triage, concurrency, 200)
        paced_n = min(n, concurrency * 60)
        paced = measure(server, triage[:paced_n], concurrency, 200, think_ms)
        memory = proc_memory_mb(server.proc.pid)
    return {
        "triage_saturated": saturated,
        "triage_paced": paced,
        "http_stack_reference": reference,
        "memory_mb": memory,
        "workers": workers,
    }


def bench_cases(n: int, concurrency: int) -> dict[str, object]:
    from support.api_env import postgres_available, temporary_database

    if not postgres_available():
        return {"skipped": "PostgreSQL not reachable on 127.0.0.1:5432"}
    with tempfile.TemporaryDirectory() as tmp, temporary_database("postgresql", Path(tmp)) as url:
        with Server(url) as server:
            texts = load_texts(n, seed=11)
            reqs = [_raw("POST", "/api/v1/cases", server.token, {"text": t}) for t in texts]
            result = measure(server, reqs, concurrency, 201)
            memory = proc_memory_mb(server.proc.pid)
        import sqlalchemy as sa

        engine = sa.create_engine(url)
        with engine.connect() as conn:
            stored = conn.execute(sa.text("SELECT count(*) FROM cases")).scalar_one()
            audited = conn.execute(
                sa.text("SELECT count(*) FROM audit_events WHERE action='submit'")
            ).scalar_one()
        engine.dispose()
    return {"cases": result, "stored": int(stored), "submit_audit_events": int(audited), "memory_mb": memory}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triage-requests", type=int, default=5000)
    parser.add_argument("--case-requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers for the triage run")
    parser.add_argument(
        "--think-ms", type=float, default=250.0, help="pause between a client's requests (paced run)"
    )
    parser.add_argument("--skip-cases", action="store_true")
    args = parser.parse_args()
    out: dict[str, object] = {"cpus": os.cpu_count()}
    out |= bench_triage(args.triage_requests, args.concurrency, args.workers, args.think_ms)
    if not args.skip_cases:
        out["postgres"] = bench_cases(args.case_requests, args.concurrency)
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
