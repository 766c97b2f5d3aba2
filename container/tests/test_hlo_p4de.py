"""The p4de train step as compiled: what crosses hosts per optimizer step (issue 22, section 1).

Compiles the trainer's step (jaxsm.steps.build) for 4 hosts x 8 devices, i.e. the (data=4, fsdp=8) mesh of
4 x ml.p4de.24xlarge, on 32 simulated CPU devices, with the documented recipe's sharding at a smaller width
(jaxsm.step_audit.SMALL_P4DE: remat=full, scan_layers, bf16), and reads the optimized HLO. Devices d and d' are on
different hosts when d // 8 != d' // 8. One child process compiles every case (the device count must be set
before JAX starts).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PER_HOST = 8
CASES = {
    "ga1": {"grad_accum": 1},
    "ga4": {"grad_accum": 4},
    "ga4-fp32": {"grad_accum": 4, "grad_reduce_dtype": "float32"},
    # The step as it was before issue 22: the tests below must be able to tell.
    "ga4-before": {"grad_accum": 4, "legacy": True},
}


@pytest.fixture(scope="module")
def audits() -> dict[str, dict]:
    args = [sys.executable, "-m", "jaxsm.step_audit", "--devices", "32", "--per-host", str(PER_HOST)]
    for case in CASES.values():
        args += ["--case", json.dumps(case)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return dict(zip(CASES, rows, strict=True))


def cross_host(audit: dict) -> list[dict]:
    return [c for c in audit["collectives"] if c["cross_host"]]


def reduction_problems(audit: dict) -> list[str]:
    """Why this step does not reduce gradients across hosts exactly once per optimizer step (empty: it does)."""
    problems = []
    crossing = cross_host(audit)
    for c in crossing:
        if c["op"] != "all-reduce":
            problems.append(f"{c['op']} {c['name']} crosses hosts")
        if c["runs"] != 1:
            problems.append(f"{c['name']} ({c['elements']} elements) runs {c['runs']} times per step")
    moved = sum(c["elements"] * c["runs"] for c in crossing)
    grads = audit["grad_elements_per_device"]
    # One reduction moves each device's gradient shard once, plus the step's loss (a scalar or two).
    if not grads <= moved <= grads + 8:
        problems.append(f"{moved} elements cross hosts per step; one gradient reduction is {grads}")
    return problems


@pytest.mark.parametrize("case", ["ga1", "ga4", "ga4-fp32"])
def test_gradients_cross_hosts_once_per_step_whatever_grad_accum(audits, case):
    audit = audits[case]
    assert audit["mesh"] == {"data": 4, "fsdp": 8}
    assert reduction_problems(audit) == []
    assert [c["groups"][0] for c in cross_host(audit) if c["elements"] > 8] == [[0, 8, 16, 24]]


def test_the_step_before_issue_22_reduced_every_micro_batch(audits):
    problems = reduction_problems(audits["ga4-before"])
    assert any("runs 4 times per step" in p for p in problems), problems


@pytest.mark.parametrize(("case", "dtype"), [("ga1", "bf16"), ("ga4", "bf16"), ("ga4-fp32", "f32")])
def test_gradient_reduction_dtype_is_configurable_bf16_by_default(audits, case, dtype):
    # The dtype of the program JAX hands XLA: the wire dtype on a GPU (XLA:CPU rewrites bf16 all-reduces to f32).
    crossing = [tuple(r["dtypes"]) for r in audits[case]["lowered_all_reduces"] if r["crosses_hosts"]]
    # One psum per gradient leaf (XLA combines them into one all-reduce, above) and the loss, which stays f32.
    assert sorted(crossing) == sorted([(dtype,)] * (len(crossing) - 1) + [("f32",)])
    assert len(crossing) > 2


@pytest.mark.parametrize("case", list(CASES))
def test_parameter_gathers_stay_on_the_host(audits, case):
    gathers = [c for c in audits[case]["collectives"] if c["op"] in ("all-gather", "all-to-all", "collective-permute")]
    assert gathers, "FSDP gathers the parameters"
    assert [c["name"] for c in gathers if c["cross_host"]] == []
    assert all(sorted(g) == list(range(g[0], g[0] + PER_HOST)) for c in gathers for g in c["groups"])


@pytest.mark.parametrize("case", ["ga1", "ga4"])
def test_no_host_transfer_or_callback_inside_the_step(audits, case):
    assert audits[case]["host_ops"] == []
