"""Serving under open-loop load: jaxsm `serve` (continuous batching, streamed answers) vs AWS's
sagemaker-inference toolkit on Multi Model Server, same handler file (container/code/inference.py),
same model.

  bash container/setup.sh
  bash bench/container/setup_mms.sh          # bench/.venvs/mms: MMS + sagemaker-inference + jaxsm
  container/.venv/bin/python bench/container/serving_bench.py [--rates 0.5,1,2,4] [--seconds 30] [--device cpu|gpu]

Model: a decoder LM of >= 30 M parameters (10 layers, d_model 512, 8 heads, context 256) written
by the real `train` entrypoint after a few steps, so decode reads ~127 MB of float32 weights per
step. Request: one prompt of 40-60 bytes, exactly 64 new tokens (min_new_tokens = max_new_tokens),
temperature 0.8, top-k 40.

Arrivals are open-loop Poisson at each rate of the sweep (a request is sent at its arrival time
whether or not earlier ones have finished), for --seconds each; then the sweep waits for the
stragglers. Per rate: throughput (completed requests and tokens per second over the span from the
first arrival to the last completion), p50/p99 end-to-end latency, time to first token for jaxsm
(its requests stream: Accept application/jsonlines; MMS cannot stream, so its first token arrives
with its last), and non-200 answers. A server's sweep stops once it is clearly past its capacity.

SLO: p99 latency <= --slo-p99-s, by default 3 x MMS's median latency for one request on an idle
server (so it scales with the hardware). "Capacity" is the highest rate of the sweep whose p99 meets
the SLO with under 1% errors; the throughput bar compares throughputs at each server's capacity.
The streaming bar compares jaxsm's TTFT p99 at its capacity with one unbatched prefill: the median
TTFT of single requests to the idle server.

A device profile follows (the same jitted steps, timed in this process after the servers have
stopped): prefill, one decode step per occupancy, and MMS's one-request-at-a-time path.

MMS is tuned as its documentation suggests for a CPU-bound model: one worker per core, each worker
single-threaded (XLA's Eigen pool off, OMP/MKL at 1), the job queue raised from 100 to 1000. jaxsm
gets the same treatment on CPU: one single-threaded engine per core (JAXSM_CPU_ENGINES), each with
its own slots.

Writes bench/results/serving.md and, for `npm run bench -- serving`, serving.json beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# this script's directory is on sys.path (run as a script, or imported by serving_goodput.py)
from serving_client import Outcome, invoke, pct

ROOT = Path(__file__).resolve().parents[2]
OURS_BIN = ROOT / "container" / ".venv" / "bin"
MMS_VENV = ROOT / "bench" / ".venvs" / "mms"
# XLA's persistent compilation cache, shared by both servers and kept between runs: startup then
# measures loading, not compiling, on a second run (both servers compile the same model's shapes).
XLA_CACHE = ROOT / "bench" / ".venvs" / "xla-cache"
MODEL_HPS = {"n_layers": "10", "d_model": "512", "n_heads": "8", "seq_len": "256", "batch_size": "4"}
NEW_TOKENS = 64
PARAMS = {"max_new_tokens": NEW_TOKENS, "min_new_tokens": NEW_TOKENS, "temperature": 0.8, "top_k": 40}
PROMPTS = [
    "The assert statement is a convenient way to insert",
    "A class definition with a docstring and two methods",
    "To read a file line by line in Python, open it and",
    "The event loop runs asynchronous tasks and callbacks",
    "Unit tests should fail for the right reason, so that",
    "When a list comprehension gets too long, prefer a",
    "The standard library's logging module configures",
    "Exceptions raised inside a context manager are passed",
]
SINGLE_THREAD_XLA = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def free_port() -> int:
    """A free loopback port below 32767 (MMS rejects ports >= Short.MAX_VALUE as invalid)."""
    for _ in range(200):
        port = random.randint(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


def command_line(script: str) -> str:
    """The command that ran this bench, as a results file quotes it."""
    return " ".join(["container/.venv/bin/python", f"bench/container/{script}", *sys.argv[1:]])


def write_results(name: str, lines: list[str]) -> Path:
    """Writes bench/results/<name>.md, prints it, and returns its path (a .json beside it is the caller's)."""
    out = ROOT / "bench" / "results" / f"{name}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return out


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def body_for(i: int) -> bytes:
    return json.dumps({"inputs": PROMPTS[i % len(PROMPTS)], "parameters": {**PARAMS, "seed": i}}).encode()


# -- the client: serving_client.py ----------------------------------------------------------
async def open_loop(port: int, rate: float, seconds: float, stream: bool, seed: int, first_id: int) -> list[Outcome]:
    """Poisson arrivals at `rate` per second for `seconds`; returns every request's result."""
    rng = random.Random(seed)
    arrivals, t = [], rng.expovariate(rate)
    while t < seconds:
        arrivals.append(t)
        t += rng.expovariate(rate)
    t0 = time.monotonic()
    tasks = []
    for i, at in enumerate(arrivals):
        delay = t0 + at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(invoke(port, body_for(first_id + i), NEW_TOKENS, stream, seconds + 300)))
    return list(await asyncio.gather(*tasks))


def summarize(results: list[Outcome], rate: float, cpu_s: float) -> dict:
    ok = [r for r in results if r.status == 200 and not r.error]
    span = (max(r.end for r in results) - min(r.start for r in results)) if results else 0.0
    lat = [r.end - r.start for r in ok]
    ttft = [r.first - r.start for r in ok]
    return {
        "rate": rate,
        "sent": len(results),
        "ok": len(ok),
        "errors": len(results) - len(ok),
        "error_kinds": sorted(
            {str(r.status) if r.status != 200 else r.error.split(":")[0] for r in results if r not in ok}
        ),
        "rps": len(ok) / span if span else 0.0,
        "tps": sum(r.tokens for r in ok) / span if span else 0.0,
        "p50": pct(lat, 0.50),
        "p99": pct(lat, 0.99),
        "ttft_p50": pct(ttft, 0.50),
        "ttft_p99": pct(ttft, 0.99),
        "cpu_per_req": cpu_s / len(ok) if ok else float("nan"),
    }


# -- servers -----------------------------------------------------------------------------------
def make_model(tmp: Path, model_hps: dict[str, str] | None = None) -> Path:
    """Train the bench model (MODEL_HPS, or `model_hps` over them) for a few steps with the real trainer; returns a
    serve dir's model/."""
    base = tmp / "train"
    env = {**os.environ, "SAGEMAKER_BASE_DIR": str(base), "JAX_PLATFORMS": "cpu"}
    subprocess.run([OURS_BIN / "prepare", "--source", "builtin"], env=env, check=True, capture_output=True)
    for ch in ("train", "val"):
        shutil.copytree(base / "processing" / "output" / ch, base / "input" / "data" / ch)
    (base / "input" / "config").mkdir(parents=True, exist_ok=True)
    hps = {**MODEL_HPS, **(model_hps or {})}
    hps.update(max_steps="10", warmup_steps="2", eval_every="10", eval_batches="1")
    (base / "input" / "config" / "hyperparameters.json").write_text(json.dumps(hps))
    proc = subprocess.run([OURS_BIN / "train"], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"train failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    model = tmp / "serve" / "model"
    shutil.copytree(base / "model", model)
    (model / "code").mkdir()
    shutil.copy(ROOT / "container" / "code" / "inference.py", model / "code" / "inference.py")
    return model


def platform_env(device: str) -> dict[str, str]:
    return {
        "JAX_PLATFORMS": "cpu" if device == "cpu" else "cuda",
        "JAX_COMPILATION_CACHE_DIR": str(XLA_CACHE),
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
    }


def start_ours(
    model: Path, port: int, device: str, slots: int | None, xla_flags: str, cpu_engines: int
) -> subprocess.Popen:
    env = {
        **os.environ,
        **platform_env(device),
        "SAGEMAKER_BASE_DIR": str(model.parent),
        "SAGEMAKER_BIND_TO_PORT": str(port),
        "JAXSM_BIND_HOST": "127.0.0.1",
        "JAXSM_LOG_LEVEL": "WARNING",
        "JAXSM_MAX_QUEUE": "1000",
        "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
    }
    if slots:
        env["JAXSM_SLOTS"] = str(slots)
    if xla_flags:
        env["XLA_FLAGS"] = xla_flags
    if device == "cpu":
        env["JAXSM_CPU_ENGINES"] = str(cpu_engines)
    return subprocess.Popen([OURS_BIN / "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_mms(model: Path, port: int, tmp: Path, workers: int, device: str) -> subprocess.Popen:
    """What sagemaker_inference.model_server.start_model_server does, with the config kept in
    a temp dir instead of /etc, the addresses on loopback, and the tuning described above."""
    store = tmp / "mms-models"
    shutil.rmtree(store, ignore_errors=True)
    store.mkdir()
    env = {
        **os.environ,
        **platform_env(device),
        "PATH": f"{MMS_VENV / 'bin'}:{os.environ['PATH']}",
        "SAGEMAKER_BASE_DIR": str(model.parent),
        "PYTHONPATH": f"{model / 'code'}:{Path(__file__).resolve().parent}",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
    }
    if device == "cpu":
        env["XLA_FLAGS"] = SINGLE_THREAD_XLA
    else:
        env["XLA_PYTHON_CLIENT_MEM_FRACTION"] = f"{0.9 / workers:.2f}"
    subprocess.run(
        [
            MMS_VENV / "bin" / "model-archiver",
            "--model-name",
            "model",
            "--handler",
            "mms_handler_service",
            "--model-path",
            str(model),
            "--export-path",
            str(store),
            "--archive-format",
            "no-archive",
        ],
        env=env,
        check=True,
    )
    props = tmp / "mms.properties"
    props.write_text(
        "\n".join(
            [
                "enable_envvars_config=true",
                "decode_input_request=false",
                "load_models=ALL",
                f"inference_address=http://127.0.0.1:{port}",
                f"management_address=http://127.0.0.1:{free_port()}",
                f"default_workers_per_model={workers}",
                "job_queue_size=1000",
                "default_response_timeout=300",
                f"model_store={store}",
                "",
            ]
        )
    )
    return subprocess.Popen(
        [
            MMS_VENV / "bin" / "multi-model-server",
            "--start",
            "--foreground",
            "--model-store",
            str(store),
            "--mms-config",
            str(props),
        ],
        env=env,
        stdout=open(tmp / "mms.log", "w"),
        stderr=subprocess.STDOUT,
        cwd=tmp,
        start_new_session=True,
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
            if group:
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.kill()
            proc.wait()


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and all its descendants (MMS's workers are children)."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    cpu: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        p = int(stat.parent.name)
        children.setdefault(int(fields[1]), []).append(p)
        cpu[p] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += cpu.get(p, 0.0)
        todo.extend(children.get(p, []))
    return total


def wait_ready(port: int, proc: subprocess.Popen, timeout: float) -> float:
    """Seconds until an invocation succeeds (MMS's /ping is 200 before its workers load)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        r = asyncio.run(invoke(port, body_for(0), NEW_TOKENS, stream=False, timeout=120))
        if r.status == 200:
            return time.monotonic() - t0
        time.sleep(0.5)
    raise SystemExit(f"server on {port} not ready after {timeout}s")


# -- the sweep -----------------------------------------------------------------------------------
def single_requests(port: int, n: int, stream: bool) -> list[Outcome]:
    return [asyncio.run(invoke(port, body_for(1000 + i), NEW_TOKENS, stream, timeout=300)) for i in range(n)]


def sweep(name: str, port: int, pid: int, rates: list[float], args, slo: float | None, stream: bool) -> list[dict]:
    rows = []
    for k, rate in enumerate(rates):
        cpu0 = tree_cpu_seconds(pid)
        results = asyncio.run(open_loop(port, rate, args.seconds, stream, seed=k, first_id=10_000 * (k + 1)))
        row = summarize(results, rate, tree_cpu_seconds(pid) - cpu0)
        row["load"] = loadavg()
        rows.append(row)
        print(
            f"{name} {rate:g}/s: {row['rps']:.2f} req/s {row['tps']:.0f} tok/s p50={row['p50']:.2f}s "
            f"p99={row['p99']:.2f}s ttft p99={row['ttft_p99']:.2f}s ok={row['ok']} errors={row['errors']} "
            f"{row['error_kinds']} cpu/req={row['cpu_per_req']:.2f}s load {row['load']}",
            flush=True,
        )
        saturated = row["errors"] > 0.1 * max(1, row["sent"]) or (slo is not None and row["p99"] > 3 * slo)
        if saturated:
            print(f"{name}: past capacity at {rate:g}/s; stopping its sweep", flush=True)
            break
    return rows


def capacity(rows: list[dict], slo: float) -> dict | None:
    """The highest-rate row whose p99 meets the SLO with under 1% errors."""
    good = [r for r in rows if r["p99"] <= slo and r["errors"] <= 0.01 * r["sent"]]
    return max(good, key=lambda r: r["rate"]) if good else None


def device_profile(model: Path, slots: int, device: str) -> list[str]:
    """Timings of the jitted steps in this process (the servers have stopped)."""
    code = f"""
import json, time, numpy as np, jax
from jaxsm.generate import Generator, Request
from jaxsm.serving.engine import default_slots
from jaxsm.serving.slots import SlotSteps
gen = Generator({str(model)!r})
dev = jax.devices()[0]
S = {slots} or default_slots(gen, dev)
st = SlotSteps(gen, S, dev)
st.warmup()  # compiles every shape ahead of time, as the server does; the steps below call the executables
def med(f, n=7):
    f()
    ts = []
    for _ in range(n):
        c0, t0 = time.process_time(), time.perf_counter()
        f()
        ts.append((time.perf_counter() - t0, time.process_time() - c0))
    ts.sort()
    return ts[len(ts) // 2]
out = {{"params": gen.param_count(), "dtype": str(np.dtype(gen.dtype)), "slots": S, "steps": {{}}}}
key = np.asarray(jax.random.PRNGKey(0))
ids = gen.tokenizer.encode({PROMPTS[0]!r})
out["prefill"] = med(lambda: st.read(st.prefill_insert(ids, 0, 0.8, 40, 0, key)))
for s in range(S):  # every slot holds the prompt (the decode state lives on the device)
    st.read(st.prefill_insert(ids, s, 0.8, 40, 0, key))
w = st.window_for(ids.size + {NEW_TOKENS})
for rows in st.row_buckets:
    out["steps"][rows] = med(lambda: st.read(st.generate(rows, w)))
r = [Request({PROMPTS[0]!r}, {NEW_TOKENS}, 0.8, 40, 1, {NEW_TOKENS})]
out["one_request"] = med(lambda: gen.complete(r), 3)
print(json.dumps(out))
"""

    def run(extra_env: dict[str, str]) -> dict:
        env = {**os.environ, **platform_env(device), **extra_env}
        proc = subprocess.run([OURS_BIN / "python", "-c", code], env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"profile failed:\n{proc.stderr[-3000:]}")
        return json.loads(proc.stdout.strip().splitlines()[-1])

    p = run({})
    lines = [
        f"Device profile ({p['params'] / 1e6:.1f} M parameters, {p['dtype']}, {p['slots']} slots; median wall ms "
        "(process CPU ms) of 7 runs, measured in one process after the servers stopped):",
        "",
        "| step | wall ms | CPU ms | tokens | ms per token |",
        "|---|---:|---:|---:|---:|",
        f"| prefill + insert, one {len(PROMPTS[0])}-byte prompt | {p['prefill'][0] * 1e3:.1f} | "
        f"{p['prefill'][1] * 1e3:.1f} | 1 | {p['prefill'][0] * 1e3:.1f} |",
    ]
    for rows, (wall, cpu) in p["steps"].items():
        lines.append(
            f"| generate, {rows} occupied slot(s) | {wall * 1e3:.1f} | {cpu * 1e3:.1f} | {rows} | "
            f"{wall * 1e3 / int(rows):.2f} |"
        )
    wall, cpu = p["one_request"]
    lines.append(
        f"| one request run to completion (jaxsm's handler predict_fn, as MMS runs it) | {wall * 1e3:.0f} | "
        f"{cpu * 1e3:.0f} | {NEW_TOKENS} | {wall * 1e3 / NEW_TOKENS:.2f} |"
    )
    if device == "cpu":
        q = run({"XLA_FLAGS": SINGLE_THREAD_XLA})
        wall, cpu = q["one_request"]
        lines.append(
            f"| the same, single-threaded XLA (an MMS worker here) | {wall * 1e3:.0f} | {cpu * 1e3:.0f} | "
            f"{NEW_TOKENS} | {wall * 1e3 / NEW_TOKENS:.2f} |"
        )
    return lines


def fmt_row(name: str, r: dict, streamed: bool) -> str:
    ttft = f"{r['ttft_p50']:.2f} / {r['ttft_p99']:.2f}" if streamed else "-"
    errors = f"{r['errors']}" + (f" ({', '.join(r['error_kinds'])})" if r["errors"] else "")
    return (
        f"| {name} | {r['rate']:g} | {r['rps']:.2f} | {r['tps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {ttft} | "
        f"{errors} | {r['cpu_per_req']:.2f} | {r['load']} |"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rates", default="0.5,1,1.5,2,3,4,6,8,12", help="request rates per second, ascending")
    ap.add_argument("--seconds", type=float, default=30.0, help="arrival window per rate")
    ap.add_argument("--slo-p99-s", type=float, default=None, help="p99 latency SLO (default 3 x MMS's idle median)")
    ap.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    ap.add_argument("--slots", type=int, default=None, help="JAXSM_SLOTS for jaxsm (default: the server's own)")
    ap.add_argument("--jaxsm-xla-flags", default="", help="XLA_FLAGS for jaxsm's server (default: XLA's own)")
    ap.add_argument(
        "--jaxsm-cpu-engines",
        type=int,
        default=os.cpu_count() or 1,
        help="JAXSM_CPU_ENGINES on cpu: single-threaded engines (default one per core, as MMS gets a worker per core)",
    )
    ap.add_argument("--mms-workers", type=int, default=None, help="default: one per CPU core (one per GPU on gpu)")
    ap.add_argument("--servers", default="mms,jaxsm", help="which servers to run (both for the bars)")
    ap.add_argument("--model-dir", type=Path, default=None, help="reuse a model dir (with code/) instead of training")
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "serving.md")
    args = ap.parse_args()
    rates = [float(x) for x in args.rates.split(",")]
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    gpus = 1
    if args.device == "gpu":
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True)
        gpus = max(1, len(out.stdout.strip().splitlines()))
    mms_workers = args.mms_workers or (os.cpu_count() or 1 if args.device == "cpu" else gpus)
    if "mms" in servers:
        sys.path.insert(0, str(next((MMS_VENV / "lib").glob("python3*/site-packages"))))
    tmp = Path(tempfile.mkdtemp(prefix="jaxsm-bench-serve-"))
    load_start = loadavg()
    if args.model_dir:
        model = args.model_dir
    else:
        print("training the bench model (a few steps) ...", flush=True)
        model = make_model(tmp)
    slo = args.slo_p99_s
    results: dict[str, dict] = {}
    for name in servers:
        port = free_port()
        if name == "jaxsm":
            proc = start_ours(model, port, args.device, args.slots, args.jaxsm_xla_flags, args.jaxsm_cpu_engines)
        else:
            proc = start_mms(model, port, tmp, mms_workers, args.device)
        try:
            ready = wait_ready(port, proc, 900)
            print(f"{name}: ready (first successful invocation) {ready:.1f}s after start", flush=True)
            stream = name == "jaxsm"
            # Warm every worker (MMS compiles per worker on first use), then time single requests.
            asyncio.run(open_loop(port, 4.0, 2.0, stream, seed=99, first_id=500))
            idle = single_requests(port, 7, stream)
            idle_lat = statistics.median(r.end - r.start for r in idle)
            idle_ttft = statistics.median(r.first - r.start for r in idle)
            print(f"{name}: idle latency {idle_lat:.2f}s, idle TTFT {idle_ttft:.3f}s", flush=True)
            if slo is None:
                if name != "mms":
                    raise SystemExit("without --slo-p99-s the SLO comes from MMS: run mms first (--servers mms,jaxsm)")
                slo = 3 * idle_lat
                print(f"SLO: p99 <= {slo:.2f}s (3 x MMS's idle median)", flush=True)
            rows = sweep(name, port, proc.pid, rates, args, slo, stream)
            results[name] = {"ready": ready, "idle_latency": idle_lat, "idle_ttft": idle_ttft, "rows": rows}
        finally:
            stop(proc, group=(name == "mms"))
        time.sleep(2)
    load_end = loadavg()
    assert slo is not None
    profile = [] if args.no_profile else device_profile(model, args.slots or 0, args.device)

    caps = {n: capacity(r["rows"], slo) for n, r in results.items()}
    summary: dict = {"slo_p99_s": slo, "load_start": load_start, "load_end": load_end, "servers": {}}
    for n, r in results.items():
        cap = caps[n]
        summary["servers"][n] = {
            "ready_s": r["ready"],
            "idle_latency_s": r["idle_latency"],
            "idle_ttft_s": r["idle_ttft"],
            "capacity_rate": cap["rate"] if cap else None,
            "capacity_rps": cap["rps"] if cap else None,
            "capacity_p99_s": cap["p99"] if cap else None,
            "capacity_ttft_p99_s": cap["ttft_p99"] if cap else None,
        }
    ours, mms = summary["servers"].get("jaxsm"), summary["servers"].get("mms")
    if ours and mms and ours["capacity_rps"] and mms["capacity_rps"]:
        summary["throughput_ratio"] = ours["capacity_rps"] / mms["capacity_rps"]
    if ours and ours["capacity_ttft_p99_s"]:
        summary["ttft_ratio"] = ours["capacity_ttft_p99_s"] / ours["idle_ttft_s"]

    cmd = command_line("serving_bench.py")
    lines = [
        "# Serving under open-loop load: jaxsm `serve` vs sagemaker-inference on Multi Model Server",
        "",
        f"`{cmd}`",
        "",
        f"{os.cpu_count()} cores ({platform.machine()}), device {args.device}; load average (1/5/15 min) "
        f"{load_start} at the start, {load_end} at the end. Same handler file (`container/code/inference.py`), same "
        f"model (10 layers, d_model 512, context 256, a few training steps), servers and client on one machine, "
        f"loopback. Request: one 50-byte prompt, `{json.dumps(PARAMS)}` (exactly {NEW_TOKENS} new tokens). "
        f"Poisson arrivals for {args.seconds:g} s per rate. jaxsm streams (`Accept: application/jsonlines`; TTFT = "
        f"first token line); MMS answers whole (TTFT = latency). MMS: {mms_workers} workers, single-threaded XLA each, "
        "job queue 1000. jaxsm: "
        + (
            f"{args.jaxsm_cpu_engines} single-threaded engine(s) (JAXSM_CPU_ENGINES), "
            if args.device == "cpu"
            else "one engine per GPU, "
        )
        + f"{args.slots or 'default'} slots each. "
        "Throughput = completed requests (tokens) per second from the first arrival to the last "
        "completion; latency is end to end at the client; CPU s/req = server CPU time (all processes) per completed "
        "request.",
        "",
        f"**SLO: p99 latency <= {slo:.2f} s**"
        + (" (3 x MMS's idle median latency)." if args.slo_p99_s is None else " (--slo-p99-s)."),
        "",
    ]
    for n, r in results.items():
        lines.append(
            f"- {n}: ready {r['ready']:.1f} s after start; idle latency {r['idle_latency']:.2f} s, "
            f"idle TTFT {r['idle_ttft'] * 1e3:.0f} ms."
        )
    lines += [
        "",
        "| server | rate /s | req/s | tok/s | p50 s | p99 s | TTFT p50 / p99 s | non-200 | CPU s/req | load avg |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for n, r in results.items():
        lines += [fmt_row(n, row, n == "jaxsm") for row in r["rows"]]
    lines += ["", "Capacity (highest rate meeting the SLO with < 1% errors):", ""]
    for n in results:
        cap = caps[n]
        lines.append(
            f"- {n}: "
            + (
                f"{cap['rate']:g}/s offered, {cap['rps']:.2f} req/s, p99 {cap['p99']:.2f} s"
                if cap
                else "none in the sweep"
            )
        )
    if "throughput_ratio" in summary:
        lines.append(f"- throughput ratio at the SLO: **{summary['throughput_ratio']:.1f}x** (bar: >= 3x)")
    if "ttft_ratio" in summary:
        lines.append(
            f"- jaxsm TTFT p99 at capacity {ours['capacity_ttft_p99_s'] * 1e3:.0f} ms = "
            f"**{summary['ttft_ratio']:.1f}x** one unbatched prefill ({ours['idle_ttft_s'] * 1e3:.0f} ms idle TTFT; "
            "bar: <= 2x)"
        )
    if profile:
        lines += ["", *profile]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    args.out.with_suffix(".json").write_text(json.dumps({"summary": summary, "results": results}, indent=1) + "\n")
    print("\n".join(lines))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
