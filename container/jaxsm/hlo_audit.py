"""Reads a compiled XLA program's text: which collectives run, over which devices, how often, in what dtype.

Used by the HLO tests (container/tests/test_hlo_p4de.py) and the step-time model (bench/container/p4de_model.py)
to show from the compiled train step, without a GPU, what crosses hosts per optimizer step.

`jax.jit(f).lower(...).compile().as_text()` is the optimized, SPMD-partitioned HLO: one program per device, each
collective naming the devices it spans (its replica groups). Three spellings of the groups occur and all are
expanded to explicit device lists here:
  * explicit: `replica_groups={{0,1},{2,3}}` (`{}`: all devices);
  * iota: `replica_groups=[G,S]<=[dims]T(perm)`: iota(N) reshaped to dims, transposed by perm, reshaped [G, S];
  * mesh: `replica_groups=mesh['a'=8,'b'=4], device_ids=([4,8]T(1,0)) {'a'}`: the device array (iota, or the
    `device_ids` iota reshaped and transposed) laid out on the named mesh, one group per combination of the axes
    that are not listed.
How often a collective runs per call is its computation's multiplier: 1 in the entry computation, times a while
loop's known trip count inside its body (XLA writes `known_trip_count` in the loop's backend config).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

COLLECTIVES = ("all-reduce", "all-gather", "reduce-scatter", "all-to-all", "collective-permute")
# Ops that move data between the device and the host, or call back into Python, in the middle of a program.
HOST_OPS = ("send", "recv", "send-done", "recv-done", "infeed", "outfeed")
DTYPE_BYTES = {"pred": 1, "s8": 1, "u8": 1, "bf16": 2, "f16": 2, "s16": 2, "u16": 2, "f32": 4, "s32": 4, "u32": 4}
DTYPE_BYTES |= {"f64": 8, "s64": 8, "u64": 8, "f8e4m3fn": 1, "f8e5m2": 1}

_COMP_START = re.compile(r"^(ENTRY\s+)?%([\w.\-]+)\s+\(.*\)\s+->\s+.*\{\s*$")
_INSTR = re.compile(r"^\s*(?:ROOT\s+)?%([\w.\-]+)\s+=\s+(.+?)\s+([a-z][a-z0-9\-]*)\((.*)$")
_ARRAY = re.compile(r"\b([a-z]+[0-9]*[a-z0-9]*)\[([0-9,]*)\]")


@dataclass
class Collective:
    name: str
    op: str  # all-reduce, all-gather, ... ("-start" variants folded in)
    computation: str
    arrays: list[tuple[str, tuple[int, ...]]]  # result arrays: (dtype, shape)
    groups: list[list[int]]
    runs: int = 1  # executions per program call (loop trip counts)

    @property
    def bytes(self) -> int:
        return sum(DTYPE_BYTES.get(d, 4) * math.prod(s) for d, s in self.arrays)

    @property
    def elements(self) -> int:
        return sum(math.prod(s) for _, s in self.arrays)

    @property
    def dtypes(self) -> set[str]:
        return {d for d, s in self.arrays if math.prod(s) > 0}

    @property
    def group_size(self) -> int:
        return max((len(g) for g in self.groups), default=1)

    def crosses_hosts(self, devices_per_host: int) -> bool:
        return any(len({d // devices_per_host for d in g}) > 1 for g in self.groups)

    def bytes_sent_per_device(self) -> float:
        """What one device sends for one execution with ring algorithms (n = group size, S = result bytes):
        all-reduce 2(n-1)/n S, all-gather and all-to-all (n-1)/n S, reduce-scatter (n-1) S, permute S."""
        n, s = self.group_size, self.bytes
        if n <= 1:
            return 0.0
        if self.op == "all-reduce":
            return 2 * (n - 1) / n * s
        if self.op == "reduce-scatter":
            return (n - 1) * s
        if self.op == "collective-permute":
            return float(s)
        return (n - 1) / n * s


@dataclass
class Program:
    collectives: list[Collective]
    host_ops: list[str]  # "<op> %name" of every host transfer or Python callback
    multipliers: dict[str, int] = field(default_factory=dict)
    # Matrix-multiply FLOPs per device per call (2 x output elements x contracted size, loops counted by their
    # trip counts; XLA's own cost analysis counts a loop body once).
    dot_flops: float = 0.0

    def cross_host(self, devices_per_host: int) -> list[Collective]:
        return [c for c in self.collectives if c.crosses_hosts(devices_per_host)]


def _iota_devices(dims: list[int], perm: list[int] | None) -> np.ndarray:
    arr = np.arange(math.prod(dims)).reshape(dims)
    return arr.transpose(perm) if perm else arr


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def parse_groups(attrs: str, n_devices: int) -> list[list[int]]:
    """The device groups of one collective's attribute text."""
    m = re.search(
        r"replica_groups=mesh\[([^\]]*)\](?:,\s*device_ids=\(\[([0-9,]+)\](?:T\(([0-9,]+)\))?\))?\s*\{([^}]*)\}", attrs
    )
    if m:
        axes = [(a.strip().strip("'"), int(n)) for a, n in (x.split("=") for x in m.group(1).split(","))]
        sizes = [n for _, n in axes]
        if m.group(2):
            devices = _iota_devices(_ints(m.group(2)), _ints(m.group(3)) if m.group(3) else None).reshape(sizes)
        else:
            devices = np.arange(math.prod(sizes)).reshape(sizes)
        over = [a.strip().strip("'") for a in m.group(4).split(",") if a.strip()]
        names = [a for a, _ in axes]
        idx = [names.index(a) for a in over]
        rest = [i for i in range(len(names)) if i not in idx]
        group = math.prod(sizes[i] for i in idx)
        return devices.transpose(rest + idx).reshape(-1, group).tolist()
    m = re.search(r"replica_groups=\[([0-9,]+)\]<=\[([0-9,]+)\](?:T\(([0-9,]+)\))?", attrs)
    if m:
        shape = _ints(m.group(1))
        return _iota_devices(_ints(m.group(2)), _ints(m.group(3)) if m.group(3) else None).reshape(shape).tolist()
    m = re.search(r"replica_groups=\{((?:\{[0-9,]*\},?)*)\}", attrs)
    if m:
        groups = [_ints(g) for g in re.findall(r"\{([0-9,]*)\}", m.group(1))]
        return groups or [list(range(n_devices))]
    m = re.search(r"source_target_pairs=\{((?:\{[0-9,]+\},?)*)\}", attrs)
    if m:
        return [_ints(g) for g in re.findall(r"\{([0-9,]+)\}", m.group(1))]
    return [list(range(n_devices))]


def parse(hlo_text: str, n_devices: int) -> Program:
    """Every collective of an optimized HLO module with its groups and executions per call."""
    comp = None
    entry = None
    found: list[Collective] = []
    host_ops: list[str] = []
    calls: list[tuple[str, str, int]] = []  # (caller, callee, times per caller run)
    shapes: dict[str, tuple[int, ...]] = {}
    dots: list[tuple[str, float]] = []  # (computation, flops per run)
    for line in hlo_text.splitlines():
        start = _COMP_START.match(line)
        if start:
            comp = start.group(2)
            if start.group(1):
                entry = comp
            continue
        ins = _INSTR.match(line)
        if not ins or comp is None:
            continue
        name, result, op, rest = ins.groups()
        arrays = _ARRAY.findall(result)
        if arrays:
            shapes[name] = tuple(_ints(arrays[0][1]))
        if op == "dot":
            lhs = re.match(r"\s*%([\w.\-]+)", rest)
            contracting = re.search(r"lhs_contracting_dims=\{([0-9,]*)\}", rest)
            if lhs and lhs.group(1) in shapes and arrays:
                k = math.prod(shapes[lhs.group(1)][i] for i in _ints(contracting.group(1) if contracting else ""))
                dots.append((comp, 2.0 * math.prod(_ints(arrays[0][1])) * k))
        trips = re.search(r'"known_trip_count":\{"n":"(\d+)"\}', rest)
        for attr, callee in re.findall(r"\b(body|condition|calls|to_apply)=%([\w.\-]+)", rest):
            times = int(trips.group(1)) if op == "while" and attr == "body" and trips else 1
            calls.append((comp, callee, times))
        for group in re.findall(r"branch_computations=\{([^}]*)\}", rest):
            calls.extend((comp, c.strip().lstrip("%"), 1) for c in group.split(","))
        base = op.removesuffix("-start")
        if base in COLLECTIVES:
            arrays = [(d, tuple(_ints(s))) for d, s in _ARRAY.findall(result) if d in DTYPE_BYTES]
            if op.endswith("-start") and base in ("all-gather", "collective-permute") and len(arrays) > 1:
                arrays = arrays[len(arrays) // 2 :]  # (operands, results): count the results
            found.append(Collective(name, base, comp, arrays, parse_groups(rest, n_devices)))
        elif op in HOST_OPS:
            host_ops.append(f"{op} %{name}")
        elif op == "custom-call":
            target = re.search(r'custom_call_target="([^"]+)"', rest)
            if target and re.search(r"callback|host", target.group(1), re.IGNORECASE):
                host_ops.append(f"custom-call {target.group(1)} %{name}")
    multipliers = _multipliers(entry, calls)
    for c in found:
        c.runs = multipliers.get(c.computation, 1)
    flops = sum(f * multipliers.get(where, 0) for where, f in dots)
    return Program(found, host_ops, multipliers, flops)


def _multipliers(entry: str | None, calls: list[tuple[str, str, int]]) -> dict[str, int]:
    """Executions of each computation per call of the entry computation (the call graph is a DAG)."""
    if entry is None:
        return {}
    callees: dict[str, list[tuple[str, int]]] = {}
    for caller, callee, times in calls:
        callees.setdefault(caller, []).append((callee, times))
    runs: dict[str, int] = {}

    def visit(comp: str, times: int) -> None:
        runs[comp] = runs.get(comp, 0) + times
        for callee, k in callees.get(comp, []):
            visit(callee, times * k)

    visit(entry, 1)
    return runs


def summarize(program: Program, devices_per_host: int) -> dict[str, dict[str, float]]:
    """Per (kind, placement) e.g. 'all-reduce cross-host': executions, bytes (result) and bytes sent per device,
    all per program call."""
    out: dict[str, dict[str, float]] = {}
    for c in program.collectives:
        where = "cross-host" if c.crosses_hosts(devices_per_host) else "in-host"
        row = out.setdefault(f"{c.op} {where}", {"runs": 0, "bytes": 0.0, "sent_per_device": 0.0})
        row["runs"] += c.runs
        row["bytes"] += c.runs * c.bytes
        row["sent_per_device"] += c.runs * c.bytes_sent_per_device()
    return out
