"""JAX's cluster auto-detection for SageMaker training jobs.

`jax.distributed.initialize()` with no arguments asks each registered `ClusterEnv` subclass
(jax/_src/clusters/cluster.py: "ClusterEnv subclasses are automatically detected when imported")
whether it is present, and takes the coordinator address, process count and process id from the
first one that is. JAX ships environments for Slurm, Open MPI, Kubernetes and Cloud TPU, none for
SageMaker. This one reads what jaxsm.toolkit exports to a user program from resourceconfig.json:

  JAX_COORDINATOR_ADDRESS  `algo-1:62010` (read by JAX itself before any detection)
  JAXSM_NUM_PROCESSES      number of hosts (one JAX process per host)
  JAXSM_PROCESS_ID         index of `current_host` in `hosts`

Importing this module registers the class (the user-program start-up hook in user_site/ imports it
right after JAX imports its cluster package, so the user's script needs no change).
"""

from __future__ import annotations

import os

from jax._src.clusters import ClusterEnv

from .distributed import COORDINATOR_ADDRESS_ENV, NUM_PROCESSES_ENV, PROCESS_ID_ENV


class SageMakerCluster(ClusterEnv):
    """A SageMaker training job: one JAX process per host, `algo-1` coordinates."""

    name = "sagemaker"

    @classmethod
    def is_env_present(cls) -> bool:
        return all(os.environ.get(v) for v in (COORDINATOR_ADDRESS_ENV, NUM_PROCESSES_ENV, PROCESS_ID_ENV))

    @classmethod
    def get_coordinator_address(cls, timeout_secs: int | None, override_coordinator_port: str | None) -> str:
        address = os.environ[COORDINATOR_ADDRESS_ENV]
        if override_coordinator_port:
            return f"{address.rsplit(':', 1)[0]}:{override_coordinator_port}"
        return address

    @classmethod
    def get_process_count(cls) -> int:
        return int(os.environ[NUM_PROCESSES_ENV])

    @classmethod
    def get_process_id(cls) -> int:
        return int(os.environ[PROCESS_ID_ENV])
