"""Compile the train step for a multi-host mesh on simulated CPU devices and report what its program does.

  python -m jaxsm.step_audit --devices 32 --per-host 8 --case '{"grad_accum": 4}' [--case ...] [--legacy]

prints one JSON object per case: the cross-host and in-host collectives (kind, dtype, elements, executions per
step, from the optimized HLO via hlo_audit), the dtype of each cross-host all-reduce in the program JAX hands XLA
(the lowered module), host transfers or callbacks, the gradient elements one device holds (what one reduction per
step moves), and XLA's cost analysis. The HLO tests (container/tests/test_hlo_p4de.py) and the step-time model
(bench/container/p4de_model.py) run it in a child process, because the device count must be set before JAX starts.

Why the lowered module for the dtype: XLA:CPU has no bfloat16 all-reduce; its compiler rewrites them to float32
(and this release's all-reduce-promotion pass aborts on them, so it is switched off here: nothing runs, the step is
only compiled). XLA:GPU keeps bfloat16 all-reduces (NCCL reduces bfloat16), so the lowered dtype is the wire dtype
on a GPU, and the optimized CPU HLO gives where and how often.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from typing import Any

# The p4de recipe's sharding at a width that compiles in seconds on two cores: remat, scan_layers, bf16 compute.
SMALL_P4DE = {
    "n_layers": 2,
    "d_model": 256,
    "n_heads": 4,
    "seq_len": 128,
    "vocab_size": 384,
    "remat": "full",
    "scan_layers": True,
    "bf16": True,
    "attention": "xla",
    "max_steps": 10,
    "warmup_steps": 1,
}


def lowered_all_reduces(text: str, per_host: int) -> list[dict[str, Any]]:
    """(dtype, groups, crosses_hosts) of each all_reduce in a lowered StableHLO module."""
    found = []
    for m in re.finditer(r"stablehlo\.all_reduce", text):
        window = text[m.end() : m.end() + 20000]
        groups_m = re.search(r"replica_groups\s*=\s*dense<(\[\[.*?\]\]|\d+)>", window)
        sig = re.search(r"\}\)\s*:\s*\((.*?)\)\s*->", window, re.S)
        groups = json.loads(groups_m.group(1)) if groups_m and groups_m.group(1).startswith("[") else []
        dtypes = sorted(set(re.findall(r"tensor<(?:[0-9x]*x)?([a-z]+[0-9]+)>", sig.group(1)))) if sig else []
        crosses = any(len({d // per_host for d in g if d >= 0}) > 1 for g in groups)
        found.append({"dtypes": dtypes, "groups": groups, "crosses_hosts": crosses})
    return found


def audit(hps: dict[str, Any], fsdp: int, per_host: int, legacy: bool, reduce_dtype: str | None) -> dict[str, Any]:
    import jax
    import jax.numpy as jnp

    from . import hlo_audit
    from . import sharding as shd
    from .config import parse_hyperparameters
    from .steps import Precision, build

    cfg = parse_hyperparameters({k: str(v) for k, v in hps.items()})
    mesh = shd.make_mesh(fsdp)
    compute = jnp.bfloat16 if cfg.bf16 else jnp.float32
    reduce = jnp.dtype(reduce_dtype) if reduce_dtype else compute
    # What resolve_precision picks on a GPU, except XLA attention (cuDNN's kernel does not compile on a CPU).
    precision = Precision(compute, "xla", "audit: GPU precision on a CPU compile", reduce)
    training = build(cfg, mesh, precision, legacy_reduction=legacy)
    c = cfg
    batch = jax.ShapeDtypeStruct(
        (c.grad_accum, c.micro_batch_size, c.seq_len + 1), jnp.int32, sharding=training.batch_sharding
    )
    scalar = jax.ShapeDtypeStruct((), jnp.float32, sharding=training.replicated)
    step = jax.ShapeDtypeStruct((), jnp.int32, sharding=training.replicated)
    with training.context():
        lowered = training._train.lower(training.abstract_state, batch, step, scalar)
        compiled = lowered.compile()
    n = jax.device_count()
    program = hlo_audit.parse(compiled.as_text(), n)
    params = training.abstract_state["params"]
    shardings = training.state_shardings["params"]
    grad_elements = sum(
        math.prod(sh.shard_shape(p.shape))
        for p, sh in zip(jax.tree_util.tree_leaves(params), jax.tree_util.tree_leaves(shardings), strict=True)
    )
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    return {
        "case": {**hps, "fsdp": fsdp, "legacy": legacy, "grad_reduce_dtype": jnp.dtype(reduce).name},
        "devices": n,
        "per_host": per_host,
        "mesh": dict(mesh.shape),
        "param_elements": sum(math.prod(p.shape) for p in jax.tree_util.tree_leaves(params)),
        "grad_elements_per_device": grad_elements,
        "xla_cost_flops": float(cost.get("flops", 0.0)) if cost else 0.0,  # counts a loop body once
        "dot_flops": program.dot_flops,
        "memory": _memory(compiled),
        "collectives": [
            {
                "name": col.name,
                "op": col.op,
                "dtypes": sorted(col.dtypes),
                "elements": col.elements,
                "bytes": col.bytes,
                "runs": col.runs,
                "group_size": col.group_size,
                "cross_host": col.crosses_hosts(per_host),
                "groups": col.groups,
                "sent_per_device": col.bytes_sent_per_device(),
            }
            for col in program.collectives
        ],
        "host_ops": program.host_ops,
        "lowered_all_reduces": [
            {k: v for k, v in r.items() if k != "groups"} for r in lowered_all_reduces(lowered.as_text(), per_host)
        ],
    }


def _memory(compiled: Any) -> dict[str, int]:
    mem = compiled.memory_analysis()
    if mem is None:
        return {}
    keys = ("argument_size_in_bytes", "temp_size_in_bytes", "output_size_in_bytes", "alias_size_in_bytes")
    return {k.removesuffix("_size_in_bytes"): int(getattr(mem, k)) for k in keys}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--devices", type=int, default=32, help="simulated CPU devices (all hosts)")
    ap.add_argument("--per-host", type=int, default=8, help="devices per host (the fsdp group)")
    ap.add_argument("--case", action="append", default=[], help="JSON hyperparameters over SMALL_P4DE (repeatable)")
    args = ap.parse_args(argv)
    if "jax" in sys.modules:
        raise SystemExit("step_audit must set the device count before JAX is imported")
    flags = os.environ.get("XLA_FLAGS", "")
    os.environ["XLA_FLAGS"] = (
        f"{flags} --xla_force_host_platform_device_count={args.devices} --xla_disable_hlo_passes=all-reduce-promotion"
    ).strip()
    os.environ["JAX_PLATFORMS"] = "cpu"
    for text in args.case or ["{}"]:
        case = json.loads(text)
        legacy = bool(case.pop("legacy", False))
        reduce = case.pop("grad_reduce_dtype", None)
        hps = {**SMALL_P4DE, **case}
        hps.setdefault("batch_size", args.devices * int(hps.get("grad_accum", 1)))
        print(json.dumps(audit(hps, args.per_host, args.per_host, legacy, reduce)), flush=True)


if __name__ == "__main__":
    main()
