"""GPU defaults of the image (jaxsm/gpu_env.py): set only where the user set nothing, and known to this jaxlib."""

from __future__ import annotations

import subprocess
import sys

from jaxsm import gpu_env


def test_defaults_apply_on_a_gpu_host_and_a_users_values_win():
    env = {"XLA_FLAGS": "--xla_gpu_enable_latency_hiding_scheduler=false", "XLA_PYTHON_CLIENT_MEM_FRACTION": ".5"}
    gpu_env.apply(env, has_gpu=True, hosts=1)
    flags = env["XLA_FLAGS"].split()
    assert flags[0] == "--xla_gpu_enable_latency_hiding_scheduler=false"  # the user's, not overridden
    assert "--xla_gpu_enable_latency_hiding_scheduler=true" not in flags
    assert "--xla_gpu_enable_pipelined_all_gather=true" in flags
    assert env["XLA_PYTHON_CLIENT_MEM_FRACTION"] == ".5"
    assert "NCCL_NET" not in env  # one host: no network between hosts
    fresh: dict[str, str] = {}
    gpu_env.apply(fresh, has_gpu=True, hosts=1)
    assert fresh["XLA_PYTHON_CLIENT_MEM_FRACTION"] == "0.90"


def test_nothing_on_a_cpu_host_or_when_switched_off():
    env: dict[str, str] = {}
    assert gpu_env.apply(env, has_gpu=False, hosts=4) == [] and env == {}
    env = {"JAXSM_GPU_DEFAULTS": "off"}
    assert gpu_env.apply(env, has_gpu=True, hosts=4) == []


def test_multi_host_names_the_efa_plugin_unless_tcp_fallback_is_allowed():
    env: dict[str, str] = {}
    gpu_env.apply(env, has_gpu=True, hosts=4)
    assert env["NCCL_NET_PLUGIN"] == "ofi" and env["NCCL_NET"] == "AWS Libfabric"
    allowed = {"JAXSM_ALLOW_TCP_FALLBACK": "true"}
    gpu_env.apply(allowed, has_gpu=True, hosts=4)
    assert "NCCL_NET" not in allowed and "NCCL_NET_PLUGIN" not in allowed
    mine = {"NCCL_NET": "Socket"}
    gpu_env.apply(mine, has_gpu=True, hosts=4)
    assert mine["NCCL_NET"] == "Socket"


def test_this_jaxlib_knows_every_default_xla_flag():
    # XLA aborts at start on a flag it does not know; its CPU build parses the same (GPU) debug options.
    env = {"XLA_FLAGS": " ".join(gpu_env.XLA_FLAG_DEFAULTS), "JAX_PLATFORMS": "cpu", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-c", "import jax; print(int(jax.numpy.ones(3).sum()))"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "3", proc.stderr[-2000:]
    bad = {**env, "XLA_FLAGS": env["XLA_FLAGS"] + " --xla_gpu_no_such_flag=true"}
    assert subprocess.run(
        [sys.executable, "-c", "import jax; jax.numpy.ones(1)"], env=bad, capture_output=True
    ).returncode
