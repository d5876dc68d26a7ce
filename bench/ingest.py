"""Ingestion benchmark: `sluice serve` on a temporary data dir, driven over loopback.

    .venv/bin/python bench/ingest.py [--seconds 10] [--repeat 3]

Needs `wrk` (Debian: apt-get install wrk) for the closed-loop runs; the fixed-rate run uses a
small asyncio client of its own. Prints events/s, latency percentiles, the server's peak RSS, and
each figure's ratio to the no-op ceiling (GET /healthz on the same server, same run). Each
closed-loop load runs `--repeat` times, interleaved with the others; the medians are printed.
"""

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
EVENT = {
    "site": "default", "name": "pageview", "referrer": "https://www.google.com/",
    "url": "https://www.example-hospital.org/services/cardiology?utm_source=google&utm_medium=cpc&gclid=Cj0KCQ",
}
CONFIG = '[collector]\nrate_limit = "100000000/second"\n'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="length of each run")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each closed-loop load")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("bench/ingest.py needs wrk: apt-get install wrk")
    with tempfile.TemporaryDirectory() as tmp:
        run(Path(tmp), args.seconds, args.repeat)


def run(tmp: Path, seconds: int, repeat: int) -> None:
    (tmp / "sluice.toml").write_text(CONFIG)
    public, internal = _free_port(), _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "sluice", "serve", "--config", str(tmp / "sluice.toml"), "--data-dir", str(tmp / "data"),
         "--host", "127.0.0.1", "--public-port", str(public), "--internal-port", str(internal)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
    )
    base = f"http://127.0.0.1:{public}"
    try:
        _wait(base + "/healthz")
        # The paced run goes first, on an idle warehouse, as a site's steady traffic would meet it.
        paced = asyncio.run(_paced(public, rate=1000, seconds=seconds))
        loads = [("GET /healthz (no-op ceiling)", "/healthz", None, 32, 1)]
        loads += [("POST /collect, 1 event", "/collect", [EVENT], c, 1) for c in (8, 32, 64)]
        loads += [("POST /collect, 25 events", "/collect", [EVENT] * 25, c, 25) for c in (8, 32)]
        results: dict[int, list[dict]] = {i: [] for i in range(len(loads))}
        for _ in range(repeat):
            for i, (_, path, body, connections, _) in enumerate(loads):
                results[i].append(_wrk(base + path, body, connections, seconds, tmp))
        medians = {i: {key: statistics.median(r[key] for r in runs) for key in runs[0]} for i, runs in results.items()}
        ceiling = medians[0]
        rows = [(name, connections, per, medians[i]) for i, (name, _, _, connections, per) in enumerate(loads)]
        rss = [_peak_rss_mb(pid) for pid in [server.pid, *_children(server.pid)]]
        accepted = _metric(internal, "sluice_events_accepted_total")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=120)
    _report(rows, ceiling, paced, rss, accepted)


def _wrk(url: str, body: list | None, connections: int, seconds: int, tmp: Path) -> dict:
    script = tmp / "post.lua"
    script.write_text(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "text/plain"\n'
        f"wrk.body = [=[{json.dumps(body)}]=]\n"
    )
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if body is not None:
        command[1:1] = ["-s", str(script)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    if "Requests/sec" not in out or not re.search(r"^\s+99%", out, re.M):
        sys.exit(f"wrk gave no figures for {url}:\n{out}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "requests": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),
        "p99": _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),
        "errors": int(non_2xx.group(1)) if non_2xx else 0,
    }


async def _paced(port: int, rate: int, seconds: int) -> dict:
    """Single events at a fixed rate over keep-alive connections; latency from the scheduled send time."""
    body = json.dumps(EVENT).encode()
    request = (f"POST /collect HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    queue: asyncio.Queue = asyncio.Queue()
    latencies: list[float] = []
    errors = 0

    async def connection() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while (scheduled := await queue.get()) is not None:
            writer.write(request)
            status = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - scheduled)
            errors += not status.startswith(b"HTTP/1.1 202")
        writer.close()

    workers = [asyncio.create_task(connection()) for _ in range(32)]
    start = time.perf_counter()
    for i in range(rate * seconds):
        scheduled = start + i / rate
        await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
        queue.put_nowait(scheduled)
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    cuts = statistics.quantiles(latencies, n=100)
    return {"requests": len(latencies) / (time.perf_counter() - start), "p50": cuts[49] * 1000,
            "p99": cuts[98] * 1000, "errors": errors}


def _report(rows: list, ceiling: dict, paced: dict, rss: list[float], accepted: float) -> None:
    print(f"{'load':34} {'conns':>5} {'events/s':>10} {'req/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'non-2xx':>7} {'ratio':>6}")
    for name, connections, per_request, result in rows:
        ratio = result["requests"] / ceiling["requests"]
        print(f"{name:34} {connections:>5} {result['requests'] * per_request:>10.0f} {result['requests']:>9.0f} "
              f"{result['p50']:>7.2f} {result['p99']:>7.2f} {result['errors']:>7.0f} {ratio:>6.2f}")
    print(f"{'POST /collect, 1 event, paced':34} {32:>5} {paced['requests']:>10.0f} {paced['requests']:>9.0f} "
          f"{paced['p50']:>7.2f} {paced['p99']:>7.2f} {paced['errors']:>7} {'':>6}")
    parts = " + ".join(f"{mb:.0f}" for mb in rss)
    print(f"server peak RSS, main + workers: {parts} = {sum(rss):.0f} MB; events acknowledged: {accepted:.0f}; "
          f"cores: {os.cpu_count()}")


def _metric(port: int, name: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    return float(re.search(rf"^{name} (\S+)$", text, re.M).group(1))


def _peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(url: str) -> None:
    for _ in range(600):
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    sys.exit(f"{url} never answered")


if __name__ == "__main__":
    main()
