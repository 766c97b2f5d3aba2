"""GPU defaults for training: XLA flags, memory fraction and NCCL's network, each only where the user set none.

Applied by the `train` console script (toolkit.cli) before anything starts JAX, on a host with an NVIDIA GPU (or
JAXSM_GPU_DEFAULTS=force; `off` applies nothing). A user overrides any of them through the job's Environment:
* XLA_FLAGS: each default flag is appended unless XLA_FLAGS already names that flag (with any value), so
  `XLA_FLAGS=--xla_gpu_enable_latency_hiding_scheduler=false` turns just that one off and keeps the others.
  The latency-hiding scheduler is what NVIDIA's JAX-Toolbox images set
  (https://docs.nvidia.com/jax-toolbox/environment-variables); the pipelined collectives, while-loop double
  buffering and combine thresholds are the communication flags of NVIDIA's "Tips for High-Performance LLMs with
  JAX and XLA" (https://docs.nvidia.com/jax-toolbox/performance-profiling/gpu-performance): they let XLA overlap
  the FSDP all-gathers and reduce-scatters of one layer with the matmuls of another. A test checks that this
  jaxlib knows every flag (an unknown flag makes XLA abort at start).
* XLA_PYTHON_CLIENT_MEM_FRACTION=0.90 instead of JAX's 0.75 (the same page: "We typically set it to 0.9").
* NCCL_NET_PLUGIN=ofi and NCCL_NET="AWS Libfabric" on more than one host: NCCL loads the aws-ofi-nccl plugin
  (libnccl-net-ofi.so) and must use its EFA network, failing at start instead of falling back to TCP sockets.
  Not set when JAXSM_ALLOW_TCP_FALLBACK=true (then NCCL may fall back, and the network probe warns).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import MutableMapping

log = logging.getLogger(__name__)

MODE_ENV = "JAXSM_GPU_DEFAULTS"
ALLOW_TCP_ENV = "JAXSM_ALLOW_TCP_FALLBACK"
XLA_FLAG_DEFAULTS = (
    "--xla_gpu_enable_latency_hiding_scheduler=true",
    "--xla_gpu_enable_pipelined_all_gather=true",
    "--xla_gpu_enable_pipelined_reduce_scatter=true",
    "--xla_gpu_enable_pipelined_all_reduce=true",
    "--xla_gpu_enable_while_loop_double_buffering=true",
    "--xla_gpu_all_gather_combine_threshold_bytes=134217728",
    "--xla_gpu_reduce_scatter_combine_threshold_bytes=134217728",
    "--xla_gpu_all_reduce_combine_threshold_bytes=134217728",
)
ENV_DEFAULTS = {"XLA_PYTHON_CLIENT_MEM_FRACTION": "0.90"}
MULTI_HOST_NCCL = {"NCCL_NET_PLUGIN": "ofi", "NCCL_NET": "AWS Libfabric"}
_TRUE = {"1", "true", "yes", "on"}


def tcp_fallback_allowed(environ: MutableMapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return env.get(ALLOW_TCP_ENV, "").strip().lower() in _TRUE


def merge_xla_flags(current: str, defaults: tuple[str, ...] = XLA_FLAG_DEFAULTS) -> str:
    """`current` plus each default whose flag name it does not mention."""
    named = set(re.findall(r"--([A-Za-z0-9_]+)", current))
    added = [f for f in defaults if f.split("=", 1)[0].lstrip("-") not in named]
    return " ".join(x for x in (current.strip(), *added) if x)


def apply(environ: MutableMapping[str, str], has_gpu: bool, hosts: int) -> list[str]:
    """Set the defaults in `environ` where unset; returns what was set (for the log)."""
    mode = environ.get(MODE_ENV, "auto").strip().lower() or "auto"
    if mode == "off" or (mode != "force" and not has_gpu):
        return []
    changed = []
    flags = merge_xla_flags(environ.get("XLA_FLAGS", ""))
    if flags != environ.get("XLA_FLAGS", ""):
        environ["XLA_FLAGS"] = flags
        changed.append(f"XLA_FLAGS={flags}")
    extra = dict(ENV_DEFAULTS)
    if hosts > 1 and not tcp_fallback_allowed(environ):
        extra.update(MULTI_HOST_NCCL)
    for key, value in extra.items():
        if key not in environ:
            environ[key] = value
            changed.append(f"{key}={value}")
    return changed
