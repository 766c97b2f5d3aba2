"""Idle latency A/B of the serving HTTP layer: the current server (uvicorn) against the hand-written HTTP/1.1 server
it replaced, on identical sequential requests, in one run on one machine.

  container/.venv/bin/python bench/container/serving_idle_ab.py [--baseline-rev 0cacda3] [--requests 2000]

The baseline is the jaxsm package at --baseline-rev (default 0cacda3, the last commit before the move to uvicorn in
54c6b15), checked out read-only with `git worktree add --detach` into a temp dir and imported ahead of the installed
package (PYTHONPATH), with the same Python environment. The commits after the move also changed the engine (chunked
prefill, no decode step after max_new_tokens, cancelled requests): /ping measures the HTTP layer alone, and the
/invocations rows ask for one new token so that the engine's share is one prefill.

Idle: one request at a time (the next one is sent when the previous answer is read), on one keep-alive connection
(a new connection when the server closes it). Both servers run at the same time, pinned to the same server cores (as
serving_goodput.py pins them), the client to its own core; requests alternate between the servers in blocks of
--block, so a change in the machine's load reaches both alike. Writes bench/results/<--name>.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import serving_bench as sb

ROOT = sb.ROOT
BASELINE_REV = "0cacda3"
ENDPOINTS = {
    "/ping": ("GET", None),
    "/invocations (1 token)": (
        "POST",
        json.dumps({"inputs": "The assert statement", "parameters": {"max_new_tokens": 1, "temperature": 0}}).encode(),
    ),
    "/invocations (16 tokens)": (
        "POST",
        json.dumps(
            {"inputs": "The assert statement", "parameters": {"max_new_tokens": 16, "min_new_tokens": 16, "seed": 1}}
        ).encode(),
    ),
}


def model_with_code(model: Path, container: Path, dest: Path) -> Path:
    """`model` (its files linked, not copied) with code/inference.py from `container`: the file names the built-in
    handler's module, which the move renamed."""
    out = dest / "serve" / "model"
    (out / "code").mkdir(parents=True)
    for f in model.iterdir():
        if f.is_file():
            (out / f.name).symlink_to(f.resolve())
    shutil.copy(container / "code" / "inference.py", out / "code" / "inference.py")
    return out


def start_server(model: Path, port: int, pythonpath: str | None) -> subprocess.Popen:
    """jaxsm's `serve` (jaxsm.serving.server:main) from the installed package, or from `pythonpath` ahead of it."""
    env = {
        **os.environ,
        **sb.platform_env("cpu"),
        "SAGEMAKER_BASE_DIR": str(model.parent),
        "SAGEMAKER_BIND_TO_PORT": str(port),
        "JAXSM_BIND_HOST": "127.0.0.1",
        "JAXSM_LOG_LEVEL": "WARNING",
        "JAXSM_CPU_ENGINES": "1",
        "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
    }
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    code = "from jaxsm.serving.server import main; main()"
    return subprocess.Popen(
        [str(sb.OURS_BIN / "python"), "-c", code], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


class Client:
    """Sequential requests on one keep-alive connection."""

    def __init__(self, port: int):
        self.port = port
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: bytes | None) -> float:
        headers = {"Content-Type": "application/json", "Accept": "application/json"} if body else {}
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            t0 = time.perf_counter()
            try:
                self.conn.request(method, path, body=body, headers=headers)
                res = self.conn.getresponse()
                res.read()
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
                continue
            elapsed = time.perf_counter() - t0
            if res.status != 200:
                raise RuntimeError(f"{path} on port {self.port}: HTTP {res.status}")
            if res.will_close:
                self.conn.close()
                self.conn = None
            return elapsed
        raise AssertionError("unreachable")


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline-rev", default=BASELINE_REV, help="the commit whose server is the baseline")
    ap.add_argument("--requests", type=int, default=2000, help="requests per endpoint per server")
    ap.add_argument("--block", type=int, default=100, help="requests to one server before switching to the other")
    ap.add_argument("--warmup", type=int, default=50, help="requests per endpoint per server before measuring")
    ap.add_argument("--client-cores", type=int, default=1)
    ap.add_argument("--model-hps", default="n_layers=2,d_model=128,n_heads=4", help="the bench model's shape")
    ap.add_argument("--model-dir", type=Path, default=None, help="reuse a model dir (with code/) instead of training")
    ap.add_argument("--name", default="serving-idle-ab", help="writes bench/results/<name>.md")
    args = ap.parse_args()

    cores = sorted(os.sched_getaffinity(0))
    if len(cores) > args.client_cores:
        client_cores, server_cores = set(cores[-args.client_cores :]), set(cores[: -args.client_cores])
    else:
        client_cores = server_cores = set(cores)
        print("warning: too few cores to keep the client off the servers' cores", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="jaxsm-bench-idle-ab-"))
    rev = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", args.baseline_rev], check=True, capture_output=True, text=True
    ).stdout.strip()
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    baseline_tree = tmp / "baseline"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(baseline_tree), rev],
        check=True,
        capture_output=True,
    )
    procs: dict[str, subprocess.Popen] = {}
    try:
        model_hps = dict(kv.split("=", 1) for kv in args.model_hps.split(",") if kv)
        model = args.model_dir or sb.make_model(tmp, model_hps)
        shape = json.loads((model / "config.json").read_text())["model"]
        ports = {f"hand-written HTTP ({rev})": sb.free_port(), f"uvicorn ({head})": sb.free_port()}
        os.sched_setaffinity(0, server_cores)  # the servers and everything they start inherit this
        models = [model_with_code(model, baseline_tree / "container", tmp / "baseline-model"), model]
        paths = [str(baseline_tree / "container"), None]
        for (name, port), served, path in zip(ports.items(), models, paths, strict=True):
            procs[name] = start_server(served, port, path)
        os.sched_setaffinity(0, client_cores)
        for name, port in ports.items():
            print(f"{name}: ready {sb.wait_ready(port, procs[name], 900):.1f}s after start", flush=True)
        clients = {name: Client(port) for name, port in ports.items()}
        load_start = sb.loadavg()
        times: dict[tuple[str, str], list[float]] = {}
        for endpoint, (method, body) in ENDPOINTS.items():
            path = endpoint.split()[0]
            for name, client in clients.items():
                for _ in range(args.warmup):
                    client.request(method, path, body)
                times[(name, endpoint)] = []
            done = 0
            while done < args.requests:
                n = min(args.block, args.requests - done)
                for name, client in clients.items():
                    times[(name, endpoint)] += [client.request(method, path, body) for _ in range(n)]
                done += n
            print(f"{endpoint}: {done} requests per server", flush=True)
        load_end = sb.loadavg()
    finally:
        for proc in procs.values():
            sb.stop(proc)
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(baseline_tree)], check=False)
        shutil.rmtree(tmp, ignore_errors=True)

    cmd = sb.command_line("serving_idle_ab.py")
    lines = [
        "# Serving idle latency: uvicorn against the hand-written HTTP server it replaced",
        "",
        f"`{cmd}`",
        "",
        f"{os.cpu_count()} cores ({platform.machine()}), CPU; both servers pinned to cores {sorted(server_cores)} and "
        f"running at once, the client on {sorted(client_cores)}; load average {load_start} at the start, {load_end} at "
        f"the end. Baseline: jaxsm at {rev} (the last commit before the move to uvicorn); current: {head}. One CPU "
        f"engine each; model: {shape['n_layers']} layers, d_model {shape['d_model']}, {shape['n_heads']} heads. "
        f"Sequential requests on a keep-alive connection, {args.requests} per endpoint per server after "
        f"{args.warmup} warm-up requests, alternating between the servers every {args.block}. Latency is the "
        "client's, from sending the request to reading the whole answer.",
        "",
        "| endpoint | server | requests | p50 ms | p90 ms | p99 ms | mean ms |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for (name, endpoint), ts in times.items():
        lines.append(
            f"| {endpoint} | {name} | {len(ts)} | {pct(ts, 0.5) * 1000:.2f} | {pct(ts, 0.9) * 1000:.2f} | "
            f"{pct(ts, 0.99) * 1000:.2f} | {statistics.fmean(ts) * 1000:.2f} |"
        )
    sb.write_results(args.name, lines)


if __name__ == "__main__":
    main()
