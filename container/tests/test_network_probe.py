"""The start-up network probe: NCCL log parsing, the busbw formula, when it runs, and a real run on CPU (gloo)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import child_env, free_port

from jaxsm import network_probe as probe
from jaxsm.distributed import HostInfo

RUN_AT_START = (
    "import logging; logging.basicConfig(level=logging.INFO); "
    "from jaxsm import network_probe; network_probe.run_at_start()"
)

# NCCL 2.2x with aws-ofi-nccl 1.1x on p4d (lines as NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,NET prints them).
EFA_LOG = """\
algo-1:51:51 [0] NCCL INFO Bootstrap : Using eth0:10.0.140.17<0>
algo-1:51:51 [0] NCCL INFO NCCL version 2.27.7+cuda12.9
algo-1:51:70 [0] NCCL INFO NET/Plugin: Loaded net plugin Libfabric (v10)
algo-1:51:70 [0] NCCL INFO NET/OFI Initializing aws-ofi-nccl 1.16.3
algo-1:51:70 [0] NCCL INFO NET/OFI Using Libfabric version 2.1
algo-1:51:70 [0] NCCL INFO NET/OFI Running on p4d.24xlarge platform, topology file /opt/amazon/ofi-nccl/share/p4d.xml
algo-1:51:70 [0] NCCL INFO NET/OFI Selected provider is efa, fabric is efa-direct (found 4 nics)
algo-1:51:70 [0] NCCL INFO Using network Libfabric
algo-1:51:75 [0] NCCL INFO Channel 00/0 : 8[0] -> 0[0] [receive] via NET/Libfabric/0/GDRDMA
algo-1:51:75 [0] NCCL INFO Channel 00/0 : 0[0] -> 8[0] [send] via NET/Libfabric/0/GDRDMA
"""

# Older NCCL and plugin: "AWS Libfabric", "Selected Provider is efa" without the fabric.
OLD_EFA_LOG = """\
nccl-tests-efa-worker-0:26:26 [0] NCCL INFO NET/OFI Using aws-ofi-nccl 1.6.0-aws
nccl-tests-efa-worker-0:26:26 [0] NCCL INFO NET/OFI Selected Provider is efa
nccl-tests-efa-worker-0:26:26 [0] NCCL INFO Using network AWS Libfabric
"""

# No plugin on the library path: the fallback a p4de job must not run with silently.
SOCKET_LOG = """\
algo-1:58239:58245 [0] NCCL INFO NCCL version 2.23.4+cuda12.1
algo-1:58239:58245 [0] NCCL INFO NET/Plugin: Could not find: libnccl-net.so. Using internal network plugin.
algo-1:58239:58245 [0] NCCL INFO Failed to open libibverbs.so[.1]
algo-1:58239:58245 [0] NCCL INFO NET/Socket : Using [0]eth0:10.0.140.17<0>
algo-1:58239:58245 [0] NCCL INFO Using network Socket
algo-1:58239:58250 [0] NCCL INFO Channel 00/0 : 0[0] -> 8[0] [send] via NET/Socket/0
"""

# The plugin loaded but libfabric only offered TCP.
TCP_PROVIDER_LOG = """\
algo-2:60:60 [0] NCCL INFO NET/OFI Initializing aws-ofi-nccl 1.14.0
algo-2:60:60 [0] NCCL INFO NET/OFI Selected provider is tcp, fabric is 10.0.0.0/16 (found 1 nics)
algo-2:60:60 [0] NCCL INFO Using network AWS Libfabric
"""


def test_parses_an_efa_run_of_a_current_nccl():
    net = probe.parse_nccl_log(EFA_LOG)
    assert (net.network, net.plugin, net.ofi_version) == ("Libfabric", "Libfabric (v10)", "1.16.3")
    assert (net.provider, net.fabric, net.nics) == ("efa", "efa-direct", 4)
    assert net.transports == {"NET/Libfabric"}
    assert net.fallback() is None
    assert "libfabric provider efa (fabric efa-direct, 4 NICs)" in net.summary()


def test_parses_an_efa_run_of_an_older_nccl():
    net = probe.parse_nccl_log(OLD_EFA_LOG)
    assert (net.network, net.provider, net.ofi_version) == ("AWS Libfabric", "efa", "1.6.0-aws")
    assert net.fallback() is None


def test_a_socket_fallback_is_named_with_its_cause():
    net = probe.parse_nccl_log(SOCKET_LOG)
    assert net.fell_back_to_sockets and net.network == "Socket"
    assert net.fallback() == (
        "NCCL fell back to TCP sockets between hosts (NET/Socket on [0]eth0:10.0.140.17<0>), not EFA: "
        "Could not find: libnccl-net.so. Using internal network plugin"
    )


def test_a_plugin_on_the_tcp_provider_is_a_fallback_too():
    assert probe.parse_nccl_log(TCP_PROVIDER_LOG).fallback() == (
        "aws-ofi-nccl is running on libfabric provider 'tcp', not 'efa' (TCP underneath)"
    )


def test_no_nccl_lines_is_reported_as_such():
    net = probe.parse_nccl_log("")
    assert net.fallback() is None and net.summary().startswith("NCCL reported no network")


def test_bus_bandwidth_is_the_nccl_tests_formula():
    # 1 GB in 1 s on 8 ranks: algbw 1 GB/s, busbw 2*7/8 = 1.75 GB/s; 1 rank moves nothing over a link.
    assert probe.bus_bandwidth_gbps(10**9, 1.0, 8) == pytest.approx(1.75)
    assert probe.bus_bandwidth_gbps(256 * 2**20, 0.01, 32) == pytest.approx(26.8435456 * 2 * 31 / 32)
    assert probe.bus_bandwidth_gbps(10**9, 1.0, 1) == 0.0
    with pytest.raises(ValueError):
        probe.bus_bandwidth_gbps(1, 0.0, 2)


def test_fi_info_output_lists_the_efa_rdm_domains():
    out = (
        "provider: efa\n    fabric: efa\n    domain: rdmap16s27-rdm\n    version: 122.0\n    type: FI_EP_RDM\n"
        "provider: efa\n    fabric: efa\n    domain: rdmap32s27-rdm\n    type: FI_EP_RDM\n"
        "provider: tcp\n    fabric: 10.0.0.0/16\n    domain: eth0\n"
    )
    assert probe.parse_fi_info(out) == ["rdmap16s27-rdm", "rdmap32s27-rdm"]


def test_when_it_runs(monkeypatch):
    one, four = HostInfo("algo-1", ("algo-1",)), HostInfo("algo-1", ("algo-1", "algo-2", "algo-3", "algo-4"))
    monkeypatch.setattr(probe, "has_nvidia_gpu", lambda: True)
    assert probe.skip_reason(four, "auto") is None
    assert probe.skip_reason(one, "auto") == "one host: no network between hosts to check"
    assert probe.skip_reason(four, "off") == "JAXSM_NETWORK_PROBE=off"
    assert "is not auto, off or force" in str(probe.skip_reason(four, "sometimes"))
    monkeypatch.setattr(probe, "has_nvidia_gpu", lambda: False)
    assert str(probe.skip_reason(four, "auto")).startswith("no NVIDIA GPU")
    assert probe.skip_reason(one, "force") is None


def test_the_probe_port_is_next_to_the_coordinator(monkeypatch):
    monkeypatch.delenv("JAXSM_COORDINATOR_ADDRESS", raising=False)
    assert probe.probe_address(HostInfo("algo-2", ("algo-1", "algo-2"))) == "algo-1:62011"
    monkeypatch.setenv("JAXSM_COORDINATOR_ADDRESS", "127.0.0.1:40000")
    assert probe.probe_address(HostInfo("algo-2", ("algo-1", "algo-2"))) == "127.0.0.1:40001"


def test_a_cpu_multi_host_job_skips_it_with_a_log_line(tmp_path):
    """What every local-mode multi-host job does at start: no child process, one line."""
    cfg = tmp_path / "input" / "config"
    cfg.mkdir(parents=True)
    (cfg / "resourceconfig.json").write_text(json.dumps({"current_host": "algo-1", "hosts": ["algo-1", "algo-2"]}))
    code = RUN_AT_START
    out = subprocess.run(
        [sys.executable, "-c", code], env=child_env(tmp_path), capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert "network probe skipped: no NVIDIA GPU" in out.stderr
    assert probe.METRIC not in out.stdout


def test_two_hosts_all_reduce_over_gloo_and_print_the_metric(tmp_path):
    """The real probe path (jax.distributed, shard_map psum over every device of both processes) on CPU."""
    port = free_port()
    procs = []
    for i in range(2):
        base = tmp_path / f"algo-{i + 1}"
        cfg = base / "input" / "config"
        cfg.mkdir(parents=True)
        rc = {"current_host": f"algo-{i + 1}", "hosts": ["algo-1", "algo-2"]}
        (cfg / "resourceconfig.json").write_text(json.dumps(rc))
        code = RUN_AT_START
        env = child_env(
            base,
            JAXSM_NETWORK_PROBE="force",
            JAXSM_NETWORK_PROBE_MB="1",
            JAXSM_COORDINATOR_ADDRESS=f"127.0.0.1:{port}",
            XLA_FLAGS="--xla_force_host_platform_device_count=2",
        )
        procs.append(subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True))
    outs = [p.communicate(timeout=240)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    first = outs[0].splitlines()
    assert "network: cpu devices exchange data over gloo (TCP); NCCL is not used" in first
    metric = [line for line in first if line.startswith(f"{probe.METRIC}=")]
    assert len(metric) == 1 and float(metric[0].split("=")[1]) > 0
    stats = json.loads(next(line for line in first if line.startswith("network: {"))[len("network: ") :])
    assert stats["devices"] == 4 and stats["hosts"] == 2 and stats["allreduce_mib_per_device"] == 1
    # Only the first host reports (one metric point per job).
    assert probe.METRIC not in outs[1]


def test_a_tcp_fallback_on_several_gpu_hosts_fails_the_job_unless_allowed(tmp_path, monkeypatch):
    """The probe child found NCCL on sockets (its exit status says so): the job fails, naming the reason and the
    way out."""
    cfg = tmp_path / "input" / "config"
    cfg.mkdir(parents=True)
    (cfg / "resourceconfig.json").write_text(json.dumps({"current_host": "algo-1", "hosts": ["algo-1", "algo-2"]}))
    monkeypatch.setenv("SAGEMAKER_BASE_DIR", str(tmp_path))
    monkeypatch.setenv(probe.MODE_ENV, "force")
    monkeypatch.setattr(probe, "has_nvidia_gpu", lambda: False)
    problem = probe.parse_nccl_log(SOCKET_LOG).fallback()
    assert problem is not None

    def child(args, env, timeout):
        (tmp_path / "seen").write_text(env["JAXSM_NETWORK_PROBE_LOG_DIR"])
        with open(f"{env['JAXSM_NETWORK_PROBE_LOG_DIR']}/{probe.FALLBACK_FILE}", "w") as f:
            f.write(problem)
        return subprocess.CompletedProcess(args, probe.FALLBACK_EXIT)

    monkeypatch.setattr(probe.subprocess, "run", child)
    with pytest.raises(probe.UserError, match="fell back to TCP sockets.*JAXSM_ALLOW_TCP_FALLBACK=true"):
        probe.run_at_start()
    assert "JAXSM_ALLOW_TCP_FALLBACK=true" in (tmp_path / "output" / "failure").read_text()
    # The child's verdict: fatal by default, a warning once the user allows TCP.
    assert probe.fallback_verdict(problem, {}) == problem
    assert probe.fallback_verdict(problem, {"JAXSM_ALLOW_TCP_FALLBACK": "true"}) is None
    assert probe.fallback_verdict(None, {}) is None
