"""Serving throughput and latency: jaxsm `serve` vs AWS's sagemaker-inference toolkit on
Multi Model Server, same handler file (container/code/inference.py), same model.

  bash container/setup.sh
  bash bench/container/setup_mms.sh          # bench/.venvs/mms: MMS + sagemaker-inference + jaxsm
  container/.venv/bin/python bench/container/serving_bench.py [--seconds 10] [--levels 1,8,32,128]

Both servers run on 127.0.0.1 only. For each concurrency level, N client threads with
keep-alive connections send requests back to back for a fixed time (bounded: at most N in
flight); throughput counts 200 responses per second; p50/p99 are over all responses.
Writes bench/results/serving.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OURS_BIN = ROOT / "container" / ".venv" / "bin"
MMS_VENV = ROOT / "bench" / ".venvs" / "mms"
PAYLOAD_PARAMS = {"max_new_tokens": 16, "temperature": 0.8, "top_k": 40}


def free_port() -> int:
    """A free loopback port below 32767 (MMS rejects ports >= Short.MAX_VALUE as invalid)."""
    import random

    for _ in range(200):
        port = random.randint(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


def request(conn: http.client.HTTPConnection, body: bytes) -> tuple[int, bytes]:
    conn.request("POST", "/invocations", body, {"Content-Type": "application/json", "Accept": "application/json"})
    r = conn.getresponse()
    return r.status, r.read()


def wait_ready(port: int, proc: subprocess.Popen, timeout: float) -> float:
    """Seconds until an invocation succeeds (MMS's /ping is 200 before workers load)."""
    t0 = time.monotonic()
    body = json.dumps({"inputs": "ready?", "parameters": {"max_new_tokens": 1}}).encode()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", "/ping")
            ping = conn.getresponse()
            ping.read()
            if ping.status == 200 and request(conn, body)[0] == 200:
                return time.monotonic() - t0
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"server on {port} not ready after {timeout}s")


def load(port: int, clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        n = 0
        mine, bad = [], 0
        while time.monotonic() < stop_at:
            body = json.dumps({"inputs": f"The {i} assert statement", "parameters": {**PAYLOAD_PARAMS, "seed": i * 100000 + n}}).encode()
            t0 = time.monotonic()
            try:
                status, _ = request(conn, body)
            except (OSError, http.client.HTTPException):
                status = 0
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            dt = time.monotonic() - t0
            if status == 200:
                mine.append(dt)
            else:
                bad += 1
            n += 1
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    t0 = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    latencies.sort()
    pct = lambda q: 1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else float("nan")  # noqa: E731
    return {"rps": len(latencies) / wall, "p50": pct(0.50), "p99": pct(0.99), "ok": len(latencies), "errors": errors[0]}


def train_model(tmp: Path) -> Path:
    base = tmp / "train"
    env = {**os.environ, "SAGEMAKER_BASE_DIR": str(base), "JAX_PLATFORMS": "cpu"}
    subprocess.run([OURS_BIN / "prepare", "--source", "builtin"], env=env, check=True, capture_output=True)
    for ch in ("train", "val"):
        shutil.copytree(base / "processing" / "output" / ch, base / "input" / "data" / ch)
    (base / "input" / "config").mkdir(parents=True, exist_ok=True)
    (base / "input" / "config" / "hyperparameters.json").write_text(json.dumps({"max_steps": "150", "eval_every": "50"}))
    subprocess.run([OURS_BIN / "train"], env=env, check=True, capture_output=True)
    model = tmp / "serve" / "model"
    shutil.copytree(base / "model", model)
    (model / "code").mkdir()
    shutil.copy(ROOT / "container" / "code" / "inference.py", model / "code" / "inference.py")
    return model


def start_ours(model: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "SAGEMAKER_BASE_DIR": str(model.parent), "SAGEMAKER_BIND_TO_PORT": str(port),
           "JAXSM_BIND_HOST": "127.0.0.1", "JAX_PLATFORMS": "cpu", "JAXSM_LOG_LEVEL": "WARNING"}
    return subprocess.Popen([OURS_BIN / "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_mms(model: Path, port: int, tmp: Path, workers: int) -> subprocess.Popen:
    """What sagemaker_inference.model_server.start_model_server does, with the config kept in
    a temp dir instead of /etc and the addresses on loopback."""
    store = tmp / "mms-models"
    store.mkdir()
    env = {**os.environ, "PATH": f"{MMS_VENV / 'bin'}:{os.environ['PATH']}", "JAX_PLATFORMS": "cpu",
           "SAGEMAKER_BASE_DIR": str(model.parent),
           "PYTHONPATH": f"{model / 'code'}:{Path(__file__).resolve().parent}"}
    subprocess.run([MMS_VENV / "bin" / "model-archiver", "--model-name", "model", "--handler", "mms_handler_service",
                    "--model-path", str(model), "--export-path", str(store), "--archive-format", "no-archive"],
                   env=env, check=True)
    props = tmp / "mms.properties"
    props.write_text("\n".join([
        "enable_envvars_config=true", "decode_input_request=false", "load_models=ALL",
        f"inference_address=http://127.0.0.1:{port}", f"management_address=http://127.0.0.1:{free_port()}",
        f"default_workers_per_model={workers}", "default_response_timeout=120",
        f"model_store={store}", "",
    ]))
    import sagemaker_inference  # noqa: F401 - only for the log config path, from the MMS venv
    return subprocess.Popen(
        [MMS_VENV / "bin" / "multi-model-server", "--start", "--foreground", "--model-store", str(store),
         "--mms-config", str(props)],
        env=env, stdout=open(tmp / "mms.log", "w"), stderr=subprocess.STDOUT, cwd=tmp, start_new_session=True,
    )


def stop(proc: subprocess.Popen, group: bool = False) -> None:
    if proc.poll() is None:
        if group:
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL) if group else proc.kill()
            proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--levels", default="1,8,32,128")
    ap.add_argument("--mms-workers", type=int, default=os.cpu_count(), help="MMS default: one worker per CPU")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "serving.md")
    args = ap.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    sys.path.insert(0, str(next((MMS_VENV / "lib").glob("python3*/site-packages"))))
    tmp = Path(tempfile.mkdtemp(prefix="jaxsm-bench-serve-"))
    print("training the model ...", flush=True)
    model = train_model(tmp)
    results = {}
    for name in ("jaxsm", "mms"):
        port = free_port()
        t0 = time.monotonic()
        proc = start_ours(model, port) if name == "jaxsm" else start_mms(model, port, tmp, args.mms_workers)
        try:
            ready = wait_ready(port, proc, 300)
            print(f"{name}: ready (first successful invocation) {ready:.1f}s after start", flush=True)
            results[name] = {"ready": ready, "levels": {}}
            load(port, 4, 2.0)  # warm connections and caches
            for c in levels:
                r = load(port, c, args.seconds)
                results[name]["levels"][c] = r
                print(f"{name} c={c}: {r['rps']:.1f} req/s p50={r['p50']:.0f}ms p99={r['p99']:.0f}ms "
                      f"ok={r['ok']} errors={r['errors']}", flush=True)
        finally:
            stop(proc, group=(name == "mms"))
        time.sleep(1)
    lines = [
        "# Serving: jaxsm `serve` vs sagemaker-inference on Multi Model Server",
        "",
        f"`container/.venv/bin/python bench/container/serving_bench.py --seconds {args.seconds:g} --levels {args.levels}`",
        "",
        f"Same handler file (`container/code/inference.py`), same model (default config, 150 steps), CPU only, "
        f"{os.cpu_count()} cores ({platform.machine()}), loopback, client threads on the same machine. "
        f"Request: one prompt, `{json.dumps(PAYLOAD_PARAMS)}`. MMS: sagemaker-inference's Transformer under "
        f"multi-model-server with {args.mms_workers} workers (its default: one per CPU); jaxsm: one process, "
        "batches of up to 32 in one jitted call. Ready = start until the first successful invocation.",
        "",
        f"Ready: jaxsm {results['jaxsm']['ready']:.1f} s, MMS {results['mms']['ready']:.1f} s.",
        "",
        "| clients | jaxsm req/s | jaxsm p50 ms | jaxsm p99 ms | MMS req/s | MMS p50 ms | MMS p99 ms | throughput ratio | errors (jaxsm/MMS) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in levels:
        a, b = results["jaxsm"]["levels"][c], results["mms"]["levels"][c]
        ratio = a["rps"] / b["rps"] if b["rps"] else float("inf")
        lines.append(f"| {c} | {a['rps']:.1f} | {a['p50']:.0f} | {a['p99']:.0f} | {b['rps']:.1f} | {b['p50']:.0f} | "
                     f"{b['p99']:.0f} | {ratio:.1f}x | {a['errors']}/{b['errors']} |")
    lines += [
        "",
        "Errors are non-200 responses (MMS answers 503 once its job queue of 100 is full); they are not",
        "counted in throughput. Both servers run the same JAX generation code (k/v cache, jitted), so the",
        "difference is the serving architecture: MMS runs one request at a time in each of its Python",
        "workers behind a Java front end; jaxsm batches whatever is queued into one device call.",
        "",
        "Reading: on this 2-core CPU the decode is compute-bound once a batch has a few rows, so a batch",
        "of 32 costs close to 32 single requests (measured with `jaxsm.generate`: default model 2.8 ms",
        "for 1 row vs 30 ms for 32; a 3.3M-parameter model 10 ms vs 170 ms) and MMS's two worker",
        "processes use both cores too. Batching therefore cannot multiply CPU throughput; the gain at",
        "low and medium concurrency is the lighter request path, and at high concurrency it is",
        "graceful queueing (bounded latency, no shed requests). The >= 3x bar is met here only where MMS",
        "saturates. The batching pays off on accelerators, where a single row leaves the device idle;",
        "`bench/container/gpu_mfu.py` is the GPU-side measurement.",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
