"""Serving goodput: the highest request rate each server sustains within a latency SLO, found by
bisection, with at least --requests requests per probed rate, repeated --repeats times.

  bash container/setup.sh
  bash bench/container/setup_mms.sh     # optional: bench/.venvs/mms, for --servers mms,jaxsm
  container/.venv/bin/python bench/container/serving_goodput.py [--servers jaxsm] [--requests 1000] [--repeats 3]

SLO, per probed rate (all must hold): TTFT p99 <= --slo-ttft-p99-s, time per output token (TPOT:
(last token - first token) / (tokens - 1), one value per request) p99 <= --slo-tpot-p99-ms, and
under 1% non-200 answers. jaxsm streams (Accept application/jsonlines), so its TTFT is its first
token line. MMS cannot stream: its first token arrives with its last, so its TTFT is its whole
latency and its TPOT is not defined (the TPOT bound then holds trivially; the TTFT bound is what
judges it).

Requests vary: prompt lengths drawn from --prompt-bytes, output lengths (min_new_tokens =
max_new_tokens, so every answer has exactly that many tokens) from --output-tokens, both by a
seeded RNG, so every server and every repeat sees the same mix. Arrivals are open-loop Poisson.

Goodput = completed requests per second at the highest rate meeting the SLO. Bisection: start at
--rate-lo (must meet the SLO; halved until it does) and --rate-hi (doubled until it fails), then
--bisect-steps midpoints. Each probe sends --requests requests (so its p99 is a percentile, not a
maximum: with 1,000 requests the p99 is the 10th slowest).

The client (this process and its request tasks) is pinned with sched_setaffinity to the last
--client-cores cores and the servers (started from a process pinned to the other cores, so every
thread and worker they start inherits it) to the rest, so the load generator does not steal the
servers' CPU.

Prints a table per repeat and a summary with the spread (median, min-max over the repeats) and
writes bench/results/<--name>.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# the servers' start/stop and the model are shared with the older sweep
import serving_bench as sb
from serving_client import Outcome, invoke, pct

ROOT = sb.ROOT
WORDS = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "a",
    "lazy",
    "dog",
    "while",
    "an",
    "event",
    "loop",
    "runs",
]


def request_mix(
    n: int, seed: int, prompt_bytes: list[int], output_tokens: list[int]
) -> list[tuple[bytes, int]]:
    """n request bodies with varied prompt and output lengths (same for every server given the seed)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        size = rng.choice(prompt_bytes)
        text = ""
        while len(text) < size:
            text += rng.choice(WORDS) + " "
        new = rng.choice(output_tokens)
        params = {
            "max_new_tokens": new,
            "min_new_tokens": new,
            "temperature": 0.8,
            "top_k": 40,
            "seed": i,
        }
        out.append(
            (json.dumps({"inputs": text[:size], "parameters": params}).encode(), new)
        )
    return out


async def probe_async(
    port: int, rate: float, mix: list[tuple[bytes, int]], stream: bool, seed: int
) -> list[Outcome]:
    rng = random.Random(seed)
    t0, at, tasks = time.monotonic(), 0.0, []
    for body, tokens in mix:
        at += rng.expovariate(rate)
        delay = t0 + at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(
            asyncio.create_task(invoke(port, body, tokens, stream, timeout=600))
        )
    return list(await asyncio.gather(*tasks))


def summarize(
    outcomes: list[Outcome], rate: float, slo_ttft: float, slo_tpot: float
) -> dict:
    ok = [o for o in outcomes if o.status == 200 and not o.error]
    span = max(o.end for o in outcomes) - min(o.start for o in outcomes)
    tpots = [t for o in ok if (t := o.tpot) is not None]
    row = {
        "rate": rate,
        "sent": len(outcomes),
        "ok": len(ok),
        "errors": len(outcomes) - len(ok),
        "rps": len(ok) / span if span > 0 else 0.0,
        "tps": sum(o.tokens for o in ok) / span if span > 0 else 0.0,
        "ttft_p50": pct([o.ttft for o in ok], 0.5),
        "ttft_p99": pct([o.ttft for o in ok], 0.99),
        "tpot_p50": pct(tpots, 0.5) if tpots else None,
        "tpot_p99": pct(tpots, 0.99) if tpots else None,
    }
    row["meets"] = (
        row["errors"] < 0.01 * row["sent"]
        and row["ttft_p99"] <= slo_ttft
        and (row["tpot_p99"] is None or row["tpot_p99"] <= slo_tpot)
    )
    return row


def bisect(
    name: str, port: int, stream: bool, args, repeat: int
) -> tuple[dict | None, list[dict]]:
    """The highest probed rate meeting the SLO (its row) and every probe's row."""
    rows: list[dict] = []
    seed = 1000 * repeat

    def probe(rate: float) -> dict:
        mix = request_mix(
            args.requests, seed + len(rows), args.prompt_bytes, args.output_tokens
        )
        outcomes = asyncio.run(probe_async(port, rate, mix, stream, seed + len(rows)))
        row = summarize(
            outcomes, rate, args.slo_ttft_p99_s, args.slo_tpot_p99_ms / 1000
        )
        row["load"] = sb.loadavg()
        rows.append(row)
        print(f"{name} repeat {repeat + 1}: {fmt_row(name, repeat, row)}", flush=True)
        return row

    lo, hi = args.rate_lo, args.rate_hi
    best, hi_fails = None, False
    for _ in range(args.max_halvings + 1):  # find a rate that meets the SLO
        row = probe(lo)
        if row["meets"]:
            best = row
            break
        hi, lo, hi_fails = lo, lo / 2, True
    if best is None:
        return None, rows
    for _ in range(6):  # and one that does not (already known when lo had to come down)
        if hi_fails:
            break
        row = probe(hi)
        if not row["meets"]:
            break
        best, lo, hi = row, hi, hi * 2
    else:
        return best, rows
    for _ in range(args.bisect_steps):
        mid = (lo + hi) / 2
        row = probe(mid)
        if row["meets"]:
            best, lo = row, mid
        else:
            hi = mid
    return best, rows


def fmt(v: float | None, scale: float = 1.0, digits: int = 2) -> str:
    return "-" if v is None or math.isnan(v) else f"{v * scale:.{digits}f}"


def fmt_row(name: str, repeat: int, r: dict) -> str:
    return (
        f"| {name} | {repeat + 1} | {r['rate']:.3g} | {r['sent']} | {r['rps']:.2f} | {r['tps']:.0f} | "
        f"{fmt(r['ttft_p50'])} / {fmt(r['ttft_p99'])} | "
        f"{fmt(r['tpot_p50'], 1000, 0)} / {fmt(r['tpot_p99'], 1000, 0)} | "
        f"{r['errors']} | {'yes' if r['meets'] else 'no'} | {r['load']} |"
    )


def spread(values: list[float]) -> str:
    if not values:
        return "none met the SLO"
    return f"{statistics.median(values):.2f} (min {min(values):.2f}, max {max(values):.2f}, n={len(values)})"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--name", default="serving-goodput", help="writes bench/results/<name>.md"
    )
    ap.add_argument("--servers", default="mms,jaxsm")
    ap.add_argument(
        "--requests",
        type=int,
        default=1000,
        help="requests per probed rate (>= 1000 for a real p99)",
    )
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rate-lo", type=float, default=0.5)
    ap.add_argument("--rate-hi", type=float, default=4.0)
    ap.add_argument("--bisect-steps", type=int, default=4)
    ap.add_argument(
        "--max-halvings",
        type=int,
        default=3,
        help="how far below --rate-lo to look for a rate that meets the SLO",
    )
    ap.add_argument("--slo-ttft-p99-s", type=float, default=2.0)
    ap.add_argument("--slo-tpot-p99-ms", type=float, default=100.0)
    ap.add_argument(
        "--prompt-bytes", default="16,48,120,200", help="prompt lengths drawn from"
    )
    ap.add_argument(
        "--output-tokens", default="16,32,64,128", help="output lengths drawn from"
    )
    ap.add_argument(
        "--client-cores",
        type=int,
        default=1,
        help="cores kept for the client (the last ones)",
    )
    ap.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    ap.add_argument("--slots", type=int, default=None)
    ap.add_argument(
        "--jaxsm-cpu-engines",
        type=int,
        default=None,
        help="default: one per server core",
    )
    ap.add_argument(
        "--mms-workers",
        type=int,
        default=None,
        help="default: one per server core (one per GPU)",
    )
    ap.add_argument(
        "--model-hps",
        default="",
        help="hyperparameters over the bench model's, e.g. n_layers=4,d_model=256 (a smaller CPU table)",
    )
    ap.add_argument(
        "--model-dir",
        type=Path,
        default=None,
        help="reuse a model dir (with code/) instead of training",
    )
    args = ap.parse_args()
    args.prompt_bytes = [int(x) for x in args.prompt_bytes.split(",")]
    args.output_tokens = [int(x) for x in args.output_tokens.split(",")]
    if args.requests < 1000:
        print(
            f"note: {args.requests} requests per rate: a smoke run, its p99 is not a real percentile",
            flush=True,
        )

    cores = sorted(os.sched_getaffinity(0))
    if len(cores) > args.client_cores:
        client_cores, server_cores = (
            set(cores[-args.client_cores :]),
            set(cores[: -args.client_cores]),
        )
    else:
        client_cores = server_cores = set(cores)
        print(
            "warning: too few cores to keep the client off the servers' cores",
            flush=True,
        )
    engines = args.jaxsm_cpu_engines or len(server_cores)
    mms_workers = args.mms_workers or len(server_cores)
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    if "mms" in servers:
        site = next((sb.MMS_VENV / "lib").glob("python3*/site-packages"), None)
        if site is None:
            raise SystemExit(
                "MMS is not set up: run bash bench/container/setup_mms.sh, or pass --servers jaxsm"
            )
        sys.path.insert(0, str(site))
    tmp = Path(tempfile.mkdtemp(prefix="jaxsm-bench-goodput-"))
    load_start = sb.loadavg()
    model_hps = dict(kv.split("=", 1) for kv in args.model_hps.split(",") if kv)
    model = args.model_dir or sb.make_model(tmp, model_hps)
    shape = json.loads((model / "config.json").read_text())["model"]

    results: dict[str, list[tuple[dict | None, list[dict]]]] = {}
    for name in servers:
        results[name] = []
        for repeat in range(args.repeats):
            port = sb.free_port()
            os.sched_setaffinity(
                0, server_cores
            )  # the server and everything it starts inherit this
            if name == "jaxsm":
                proc = sb.start_ours(model, port, args.device, args.slots, "", engines)
            else:
                proc = sb.start_mms(model, port, tmp, mms_workers, args.device)
            os.sched_setaffinity(0, client_cores)
            try:
                ready = sb.wait_ready(port, proc, 900)
                print(
                    f"{name} repeat {repeat + 1}: ready {ready:.1f}s after start",
                    flush=True,
                )
                results[name].append(bisect(name, port, name == "jaxsm", args, repeat))
            finally:
                sb.stop(proc, group=(name == "mms"))
            time.sleep(2)
    load_end = sb.loadavg()

    cmd = sb.command_line("serving_goodput.py")
    lines = [
        "# Serving goodput under an SLO (bisection, repeated)",
        "",
        f"`{cmd}`",
        "",
        f"{os.cpu_count()} cores ({platform.machine()}), device {args.device}; servers pinned to cores "
        f"{sorted(server_cores)}, client to {sorted(client_cores)}; load average {load_start} at the start, "
        f"{load_end} at the end. jaxsm: {engines} engine(s), {args.slots or 'default'} slots; MMS: {mms_workers} "
        f"worker(s). {args.requests} requests per probed rate (Poisson arrivals), prompt bytes from "
        f"{args.prompt_bytes}, output tokens from {args.output_tokens} (exactly that many each). Model: "
        f"{shape['n_layers']} layers, d_model {shape['d_model']}, {shape['n_heads']} heads, "
        f"seq_len {shape['seq_len']}.",
        "",
        f"**SLO: TTFT p99 <= {args.slo_ttft_p99_s:g} s and time per output token p99 <= "
        f"{args.slo_tpot_p99_ms:g} ms, with < 1% errors.** Goodput = completed requests per second at the "
        "highest probed rate meeting it. MMS does not stream: its TTFT is its whole latency.",
        "",
        "| server | repeat | rate /s | sent | req/s | tok/s | TTFT p50 / p99 s | TPOT p50 / p99 ms | non-200 | SLO met "
        "| load avg |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for name, reps in results.items():
        for repeat, (_, rows) in enumerate(reps):
            lines += [
                fmt_row(name, repeat, r) for r in sorted(rows, key=lambda r: r["rate"])
            ]
    lines += [
        "",
        "| server | goodput req/s: median (min, max) | TTFT p99 at goodput s: median (min, max) |",
        "|---|---|---|",
    ]
    for name, reps in results.items():
        bests = [b for b, _ in reps if b is not None]
        lines.append(
            f"| {name} | {spread([b['rps'] for b in bests])} | {spread([b['ttft_p99'] for b in bests])} |"
        )
    # the 1-minute load average at each probe's end: a busy machine during the run, not only at its start
    peak = max(
        [float(load_start.split()[0])]
        + [float(r["load"].split()[0]) for reps in results.values() for _, rows in reps for r in rows]
    )
    # The bench's own server and client keep every core busy (a 1-minute load of about cores + 0.5 with nothing
    # else running), so other work shows as a busy start or a peak beyond that.
    busy_start = float(load_start.split()[0]) > 1.0
    if args.requests < 1000 or busy_start or peak > (os.cpu_count() or 1) + 1:
        lines += [
            "",
            "**Not a clean run**: "
            + (f"{args.requests} requests per rate (a smoke size); " if args.requests < 1000 else "")
            + f"load average {load_start} on {os.cpu_count()} cores at the start, 1-minute load up to {peak:.1f} "
            "at the probes' ends (other work on the machine shares the servers' cores). Rerun with the defaults on "
            "an idle machine for numbers to quote.",
        ]
    out = sb.write_results(args.name, lines)
    out.with_suffix(".json").write_text(
        json.dumps(
            {
                n: [{"best": b, "rows": rows} for b, rows in reps]
                for n, reps in results.items()
            },
            indent=1,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
