"""Multi-host setup from SageMaker's resourceconfig.json.

SageMaker starts one container per host and writes
  {"current_host": "algo-2", "hosts": ["algo-1", "algo-2", ...], ...}
We run one JAX process per host (it drives all local accelerators, e.g. the 8 A100s of a p4de).
The first host in `hosts` is the coordinator at COORDINATOR_PORT; JAXSM_COORDINATOR_ADDRESS
overrides the whole address (the orchestrator's local mode runs several "hosts" on 127.0.0.1,
each job on its own free port). On CPU, cross-process collectives need gloo, switched on here.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import UserError

log = logging.getLogger(__name__)

# Fixed, documented coordinator port (the gRPC service jax.distributed starts on the first host).
COORDINATOR_PORT = 62010
COORDINATOR_ENV = "JAXSM_COORDINATOR_ADDRESS"
# What a user program gets (user_program_env): JAX reads the first itself; cluster_env.py the other two.
COORDINATOR_ADDRESS_ENV = "JAX_COORDINATOR_ADDRESS"
NUM_PROCESSES_ENV = "JAXSM_NUM_PROCESSES"
PROCESS_ID_ENV = "JAXSM_PROCESS_ID"


@dataclass(frozen=True)
class HostInfo:
    current_host: str
    hosts: tuple[str, ...]

    @property
    def num_hosts(self) -> int:
        return len(self.hosts)

    @property
    def process_id(self) -> int:
        return self.hosts.index(self.current_host)

    def coordinator_address(self) -> str:
        override = os.environ.get(COORDINATOR_ENV, "").strip()
        if override:
            return override
        return f"{self.hosts[0]}:{COORDINATOR_PORT}"


def read_host_info(resource_config: Path) -> HostInfo:
    """Parse resourceconfig.json; without one we are a single host (local runs, tests)."""
    if not resource_config.exists():
        return HostInfo("algo-1", ("algo-1",))
    try:
        rc = json.loads(resource_config.read_text())
        hosts = tuple(rc["hosts"])
        current = rc["current_host"]
    except (ValueError, KeyError, TypeError) as e:
        raise UserError(f"{resource_config} is malformed ({e}); expected 'current_host' and 'hosts'") from None
    if not hosts or current not in hosts:
        raise UserError(f"{resource_config}: current_host {current!r} is not in hosts {list(hosts)}")
    # SageMaker lists hosts in order already; sorting would break custom orders, so keep them.
    return HostInfo(current, hosts)


def initialize(info: HostInfo) -> None:
    """Initialise jax.distributed when there is more than one host; no-op otherwise."""
    import jax

    # Must be set before any backend initialises (so we cannot ask jax which backend it is):
    # the CPU client has no cross-process collectives without gloo; GPU/TPU clients ignore it.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    if info.num_hosts == 1:
        return
    address = info.coordinator_address()
    log.info(
        "jax.distributed.initialize coordinator=%s num_processes=%d process_id=%d",
        address,
        info.num_hosts,
        info.process_id,
    )
    jax.distributed.initialize(
        coordinator_address=address,
        num_processes=info.num_hosts,
        process_id=info.process_id,
        initialization_timeout=int(os.environ.get("JAXSM_INIT_TIMEOUT_S", "300")),
    )


def user_program_env(info: HostInfo) -> dict[str, str]:
    """What a user training program needs so that `jax.distributed.initialize()` works with no arguments.

    Set on every host, a single one included, so a script written for N hosts also runs on one (a
    tuning trial, say). On CPU, cross-process collectives need gloo: JAX reads the flag's default
    from JAX_CPU_COLLECTIVES_IMPLEMENTATION.
    """
    return {
        COORDINATOR_ADDRESS_ENV: info.coordinator_address(),
        NUM_PROCESSES_ENV: str(info.num_hosts),
        PROCESS_ID_ENV: str(info.process_id),
        "JAX_CPU_COLLECTIVES_IMPLEMENTATION": "gloo",
    }


def initialize_from_sagemaker(resource_config: Path | None = None) -> HostInfo:
    """The helper form of what the container sets up for a user program: read resourceconfig.json
    (default: the job's, under SAGEMAKER_BASE_DIR) and join the job's other hosts. A no-op on one host.

        import jaxsm.distributed
        hosts = jaxsm.distributed.initialize_from_sagemaker()
    """
    from .paths import SageMakerPaths

    info = read_host_info(resource_config or SageMakerPaths.from_env().resource_config)
    initialize(info)
    return info
