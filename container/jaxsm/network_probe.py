"""Start-up check of the network between hosts: what NCCL picked, and the all-reduce bandwidth it gets.

On p4d/p4de, NCCL reaches the other hosts over EFA only when it loads the aws-ofi-nccl plugin and libfabric picks
its `efa` provider; otherwise it silently falls back to TCP sockets and every collective is several times slower.
So at start on more than one host with NVIDIA GPUs, before the program runs, every host runs this module in a
child process (`python -m jaxsm.network_probe`): it joins the other hosts through jax.distributed on its own port
(the coordinator's + 1, so the program's coordinator is untouched), all-reduces a few hundred MB per device across
every device of every host, and exits, leaving the GPUs to the program. NCCL's own INIT/NET log lines
(NCCL_DEBUG=INFO into a file) say which network plugin and provider it picked; the first host prints them, a
WARNING naming the fallback when it is not EFA, and the bus bandwidth as the metric line
`allreduce_busbw_gbps=<GB/s>` (nccl-tests' busbw, gigabytes per second: algbw x 2(n-1)/n, so the number compares
with published nccl-tests results). `fi_info -p efa` (EFA installer) is logged beside it.

On CPU or one host the probe is skipped with a log line: CPU hosts talk over gloo on TCP, nothing to choose.
JAXSM_NETWORK_PROBE: auto (default) | off | force (runs on any platform, over gloo on CPU: what the tests use).
JAXSM_NETWORK_PROBE_MB (default 256, per device), JAXSM_NETWORK_PROBE_TIMEOUT_S (default 300).
"""

from __future__ import annotations

import glob
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import gpu_env
from .distributed import COORDINATOR_ENV, HostInfo, read_host_info
from .errors import UserError, write_failure
from .paths import SageMakerPaths

log = logging.getLogger("jaxsm.network")

MODE_ENV = "JAXSM_NETWORK_PROBE"
SIZE_ENV = "JAXSM_NETWORK_PROBE_MB"
TIMEOUT_ENV = "JAXSM_NETWORK_PROBE_TIMEOUT_S"
METRIC = "allreduce_busbw_gbps"
FI_INFO = "/opt/amazon/efa/bin/fi_info"
ITERATIONS = 5
# The probe's exit status when NCCL does not use EFA between hosts and the user did not allow a TCP fallback.
FALLBACK_EXIT = 3
FALLBACK_FILE = "fallback"


def bus_bandwidth_gbps(nbytes: int, seconds: float, ranks: int) -> float:
    """nccl-tests' all-reduce bus bandwidth in GB/s: (bytes per rank / time) x 2(n-1)/n.

    https://github.com/NVIDIA/nccl-tests/blob/master/doc/PERFORMANCE.md: an all-reduce moves 2(n-1)/n of the buffer
    over each rank's link, so busbw is comparable across rank counts (and with the link's own speed).
    """
    if seconds <= 0 or ranks < 1:
        raise ValueError(f"need a positive time and at least one rank, got {seconds} s over {ranks}")
    return nbytes / seconds / 1e9 * (2 * (ranks - 1) / ranks)


@dataclass
class NcclNetwork:
    """What NCCL's INIT/NET log lines say about the network between hosts."""

    network: str | None = None  # "AWS Libfabric" / "Libfabric" (aws-ofi-nccl), "Socket", "IB", ...
    plugin: str | None = None  # the external net plugin NCCL loaded, if any
    plugin_missing: str | None = None  # NCCL's words when it found no plugin
    ofi_version: str | None = None
    provider: str | None = None  # libfabric provider aws-ofi-nccl selected ("efa")
    fabric: str | None = None
    nics: int | None = None
    socket_interfaces: str | None = None
    transports: set[str] = field(default_factory=set)  # "NET/Socket", "NET/AWS Libfabric", from channel lines

    @property
    def uses_ofi(self) -> bool:
        names = [self.network or "", *self.transports]
        return any("Libfabric" in n or "OFI" in n for n in names)

    @property
    def fell_back_to_sockets(self) -> bool:
        return self.network == "Socket" or "NET/Socket" in self.transports

    def fallback(self) -> str | None:
        """A sentence naming the fallback when hosts do not talk over EFA (None when they do, or nothing is known)."""
        if self.fell_back_to_sockets:
            cause = self.plugin_missing or (
                "the aws-ofi-nccl plugin loaded but found no usable libfabric provider"
                if self.ofi_version
                else "no network plugin was loaded"
            )
            where = f" on {self.socket_interfaces}" if self.socket_interfaces else ""
            return f"NCCL fell back to TCP sockets between hosts (NET/Socket{where}), not EFA: {cause}"
        if self.uses_ofi and self.provider and self.provider.split(";")[0] != "efa":
            return f"aws-ofi-nccl is running on libfabric provider {self.provider!r}, not 'efa' (TCP underneath)"
        if self.network and not self.uses_ofi:
            return f"NCCL uses network {self.network!r} between hosts, not EFA (aws-ofi-nccl)"
        return None

    def summary(self) -> str:
        if not self.network and not self.transports:
            return "NCCL reported no network (no NCCL INFO lines: not a GPU job, or NCCL never initialised)"
        parts = [f"NCCL network {self.network or '?'}"]
        if self.plugin:
            parts.append(f"plugin {self.plugin}")
        if self.ofi_version:
            parts.append(f"aws-ofi-nccl {self.ofi_version}")
        if self.provider:
            detail = ", ".join(
                x
                for x in (f"fabric {self.fabric}" if self.fabric else "", f"{self.nics} NICs" if self.nics else "")
                if x
            )
            parts.append(f"libfabric provider {self.provider}" + (f" ({detail})" if detail else ""))
        if self.transports:
            parts.append("between hosts via " + ", ".join(sorted(self.transports)))
        return "; ".join(parts)


_PATTERNS = {
    "network": re.compile(r"NCCL INFO Using network (.+?)\s*$"),
    "plugin": re.compile(r"NET/Plugin\s*:\s*Loaded net plugin (.+?)\s*$"),
    "missing": re.compile(
        r"NET/Plugin\s*:\s*((?:Could not find|No plugin found|Plugin load returned|Plugin load \(|Failed to open)"
        r".*?)\s*$"
    ),
    "ofi": re.compile(r"NET/OFI (?:Initializing|Using) aws-ofi-nccl (\S+)"),
    "provider": re.compile(
        r"NET/OFI Selected [Pp]rovider is ([^,\s(]+)(?:, fabric is ([^\s(]+))?(?: \(found (\d+) nics\))?"
    ),
    "socket": re.compile(r"NET/Socket\s*:\s*Using (.+?)\s*$"),
    "channel": re.compile(r"via (NET/[^/\s]+(?: [^/\s]+)*)/"),
}


def parse_nccl_log(text: str) -> NcclNetwork:
    """Reads NCCL_DEBUG=INFO output (INIT and NET subsystems) of any NCCL 2.x / aws-ofi-nccl 1.x version."""
    net = NcclNetwork()
    for line in text.splitlines():
        if m := _PATTERNS["network"].search(line):
            net.network = m[1]
        elif m := _PATTERNS["plugin"].search(line):
            net.plugin = m[1]
        elif m := _PATTERNS["missing"].search(line):
            net.plugin_missing = net.plugin_missing or m[1].rstrip(".")
        elif m := _PATTERNS["ofi"].search(line):
            net.ofi_version = m[1]
        elif m := _PATTERNS["provider"].search(line):
            net.provider, net.fabric = m[1], m[2]
            net.nics = int(m[3]) if m[3] else net.nics
        elif m := _PATTERNS["socket"].search(line):
            net.socket_interfaces = m[1]
        if m := _PATTERNS["channel"].search(line):
            net.transports.add(m[1])
    return net


def parse_fi_info(text: str) -> list[str]:
    """The EFA RDM domains `fi_info -p efa -t FI_EP_RDM` lists (one per EFA device)."""
    domains: list[str] = []
    provider = None
    for line in text.splitlines():
        key, _, value = line.strip().partition(":")
        if key == "provider":
            provider = value.strip()
        elif key == "domain" and provider and provider.split(";")[0] == "efa":
            domains.append(value.strip())
    return domains


def fi_info_report() -> str:
    """One line on the EFA devices libfabric sees here (or why it sees none)."""
    if not os.path.exists(FI_INFO):
        return f"{FI_INFO} is missing: the image has no EFA software (libfabric from the EFA installer)"
    try:
        out = subprocess.run([FI_INFO, "-p", "efa", "-t", "FI_EP_RDM"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"fi_info -p efa failed: {e}"
    domains = parse_fi_info(out.stdout)
    if not domains:
        why = (out.stderr or out.stdout).strip().splitlines()
        return "fi_info -p efa: no EFA device" + (f" ({why[-1]})" if why else "") + ": is EFA enabled for the job?"
    return f"fi_info -p efa: {len(domains)} EFA device(s): {', '.join(domains)}"


def has_nvidia_gpu() -> bool:
    """True when an NVIDIA GPU is visible and JAX is not pinned to the CPU (checked without starting JAX)."""
    platforms = os.environ.get("JAX_PLATFORMS", "").lower()
    if platforms and "cuda" not in platforms and "gpu" not in platforms:
        return False
    return bool(glob.glob("/proc/driver/nvidia/gpus/*")) or os.path.exists("/dev/nvidia0")


def probe_address(info: HostInfo) -> str:
    """The coordinator's host and the next port: the probe never touches the program's coordinator."""
    host, _, port = info.coordinator_address().rpartition(":")
    return f"{host}:{int(port) + 1}"


def skip_reason(info: HostInfo, mode: str) -> str | None:
    """Why the probe does not run here, or None when it does."""
    if mode == "off":
        return f"{MODE_ENV}=off"
    if mode == "force":
        return None
    if mode != "auto":
        return f"{MODE_ENV}={mode!r} is not auto, off or force"
    if info.num_hosts == 1:
        return "one host: no network between hosts to check"
    if not has_nvidia_gpu():
        return "no NVIDIA GPU: CPU hosts exchange data over gloo on TCP, there is no EFA path to check"
    return None


def run_at_start(paths: SageMakerPaths | None = None) -> None:
    """Runs the probe in a child process on every host when it applies; never fails the job (logs instead)."""
    paths = paths or SageMakerPaths.from_env()
    mode = os.environ.get(MODE_ENV, "auto").strip().lower() or "auto"
    try:
        info = read_host_info(paths.resource_config)
    except Exception as e:  # noqa: BLE001 - the program reports a bad resourceconfig.json itself
        log.warning("network probe skipped: %s", e)
        return
    reason = skip_reason(info, mode)
    if reason:
        log.info("network probe skipped: %s", reason)
        return
    if has_nvidia_gpu():
        log.info("network: %s", fi_info_report())
    timeout = float(os.environ.get(TIMEOUT_ENV, "300"))
    env = dict(os.environ)
    env[COORDINATOR_ENV] = probe_address(info)
    env["JAXSM_INIT_TIMEOUT_S"] = str(int(min(timeout, 120)))
    env.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    # The probe looks at what NCCL picks by itself, to name a fallback and its cause; the image's NCCL_NET default
    # (gpu_env) stays on the program, where it makes NCCL fail rather than fall back.
    for key, value in gpu_env.MULTI_HOST_NCCL.items():
        if env.get(key) == value:
            del env[key]
    with tempfile.TemporaryDirectory(prefix="jaxsm-nccl-") as tmp:
        # NCCL's INIT/NET lines go to a file the probe reads back; the program's own NCCL_DEBUG is untouched.
        env.update(NCCL_DEBUG="INFO", NCCL_DEBUG_SUBSYS="INIT,NET", NCCL_DEBUG_FILE=f"{tmp}/nccl.%h.%p.log")
        env["JAXSM_NETWORK_PROBE_LOG_DIR"] = tmp
        log.info(
            "network probe: all-reduce across %d hosts (coordinator %s), up to %.0f s",
            info.num_hosts,
            env[COORDINATOR_ENV],
            timeout,
        )
        t0 = time.monotonic()
        try:
            proc = subprocess.run([sys.executable, "-m", "jaxsm.network_probe"], env=env, timeout=timeout)
        except subprocess.TimeoutExpired:
            log.warning("network probe timed out after %.0f s (a host did not join?); training goes on", timeout)
            return
        except OSError as e:
            log.warning("network probe could not start: %s; training goes on", e)
            return
        if proc.returncode == FALLBACK_EXIT:
            raise fallback_error(Path(tmp, FALLBACK_FILE).read_text().strip(), paths)
        if proc.returncode != 0:
            log.warning("network probe failed (exit %d); training goes on", proc.returncode)
        else:
            log.info("network probe done in %.1f s", time.monotonic() - t0)


def fallback_error(problem: str, paths: SageMakerPaths) -> UserError:
    """The job's failure when hosts would train over TCP: several times slower at the full price of the GPUs."""
    message = (
        f"{problem}. Multi-node GPU training over TCP is several times slower than over EFA; enable EFA for the job "
        f"(an EFA-capable instance type such as ml.p4de.24xlarge, and a VPC security group that allows all traffic "
        f"between its members) or set {gpu_env.ALLOW_TCP_ENV}=true in the job's Environment to train anyway"
    )
    write_failure(paths.failure, message)
    return UserError(message)


def fallback_verdict(problem: str | None, environ: dict[str, str] | None = None) -> str | None:
    """The probe's verdict on this host: None (EFA, or no verdict), or the problem when it must fail the job."""
    if problem is None or gpu_env.tcp_fallback_allowed(environ):
        return None
    return problem


def measure(nbytes: int, iterations: int = ITERATIONS) -> tuple[float, int]:
    """Seconds per all-reduce of `nbytes` per device over every device of every process, and the device count."""
    import jax
    import numpy as np
    from jax.experimental import multihost_utils
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    devices = jax.devices()
    n = len(devices)
    mesh = Mesh(np.array(devices), ("d",))
    per_device = max(1, nbytes // 4)
    spec = PartitionSpec("d")
    x = jax.make_array_from_callback(
        (n * per_device,), NamedSharding(mesh, spec), lambda index: np.ones((per_device,), np.float32)
    )
    allreduce = jax.jit(jax.shard_map(lambda a: jax.lax.psum(a, "d"), mesh=mesh, in_specs=spec, out_specs=spec))
    y = allreduce(x)  # compile and warm up (NCCL sets up its communicators here)
    y.block_until_ready()
    got = float(np.asarray(y.addressable_shards[0].data[0]))
    if got != n:
        raise RuntimeError(f"all-reduce of ones over {n} devices gave {got}")
    multihost_utils.sync_global_devices("jaxsm-network-probe")
    times = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        allreduce(x).block_until_ready()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2], n


def _nccl_text(log_dir: str | None) -> str:
    if not log_dir:
        return ""
    return "\n".join(Path(p).read_text(errors="replace") for p in sorted(glob.glob(os.path.join(log_dir, "nccl.*"))))


def main() -> None:
    """The probe itself (one process per host, started by run_at_start)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from . import distributed

    paths = SageMakerPaths.from_env()
    info = read_host_info(paths.resource_config)
    distributed.initialize(info)
    import jax

    nbytes = int(float(os.environ.get(SIZE_ENV, "256")) * 2**20)
    seconds, n = measure(nbytes)
    busbw = bus_bandwidth_gbps(nbytes, seconds, n)
    platform = jax.devices()[0].platform
    log_dir = os.environ.get("JAXSM_NETWORK_PROBE_LOG_DIR")
    net = parse_nccl_log(_nccl_text(log_dir))
    # Every host judges its own NCCL log, so every host fails (not only the first, the others waiting on it).
    fatal = fallback_verdict(net.fallback()) if platform == "gpu" else None
    if info.process_id == 0:
        if platform == "gpu":
            print(f"network: {net.summary()}", flush=True)
            problem = net.fallback()
            if problem:
                verdict = "ERROR" if fatal else "WARNING"
                print(f"{verdict} network: {problem}; see README 'p4de: EFA and NCCL'", flush=True)
        else:
            print(f"network: {platform} devices exchange data over gloo (TCP); NCCL is not used", flush=True)
        print(f"{METRIC}={busbw:.3f}", flush=True)
        algbw = nbytes / seconds / 1e9
        print(
            "network: "
            + json.dumps(
                {
                    "allreduce_mib_per_device": round(nbytes / 2**20, 3),
                    "devices": n,
                    "hosts": info.num_hosts,
                    "seconds": round(seconds, 6),
                    "algbw_gbps": round(algbw, 3),
                    "busbw_gbps": round(busbw, 3),
                }
            ),
            flush=True,
        )
    jax.distributed.shutdown()
    if fatal and log_dir:
        Path(log_dir, FALLBACK_FILE).write_text(fatal)
        sys.exit(FALLBACK_EXIT)


if __name__ == "__main__":
    main()
