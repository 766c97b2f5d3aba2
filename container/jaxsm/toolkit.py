"""Run training through the sagemaker-training toolkit.

`train` (our console script) points the toolkit's SAGEMAKER_TRAINING_MODULE at
`framework_main` below, then hands over to the toolkit's own entry. The toolkit parses the
environment, starts intermediate-output sync, writes the success file, and turns a raised
ClientError (our UserError) into /opt/ml/output/failure + exit code 1.

framework_main picks the program:
  * a user program (hyperparameter `sagemaker_program`, env SAGEMAKER_PROGRAM; from
    `sagemaker_submit_directory`, S3 or local, default the image's built-in programs) runs
    exactly as the SDK's script mode runs it, through the toolkit's entry_point.run (which
    installs its requirements.txt), with jax.distributed prepared for it (`_user_program_env`);
  * otherwise the project trainer runs in-process (the default program; the image also bakes
    it as /opt/jaxsm/code/train.py, so `sagemaker_program=train.py` without a submit directory
    means the same thing). Nothing is baked into /opt/ml/code: SageMaker reserves it for the
    submitted directory, which the toolkit unpacks there only while it is empty.
Before either, on several GPU hosts, network_probe checks what NCCL picked between the hosts.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys

from .paths import SageMakerPaths

DEFAULT_MODULE = "jaxsm.toolkit:framework_main"
# The user program's start-up hook (a sitecustomize), shipped as package data.
USER_SITE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "user_site")
# Where the image bakes the built-in programs (outside /opt/ml); JAXSM_PROGRAM_DIR overrides it.
BAKED_PROGRAM_DIR = "/opt/jaxsm/code"


def default_program_dir() -> str:
    """The directory a `sagemaker_program` without `sagemaker_submit_directory` comes from."""
    from pathlib import Path

    override = os.environ.get("JAXSM_PROGRAM_DIR")
    if override:
        return override
    if os.path.isdir(BAKED_PROGRAM_DIR):
        return BAKED_PROGRAM_DIR
    # A checkout (local process mode, tests): the same programs beside the package.
    return str(Path(__file__).resolve().parent.parent / "code")


def _forward_sigterm_to_children() -> None:
    """SageMaker signals only PID 1; pass SIGTERM to the user program so it can checkpoint."""
    import psutil

    def handler(signum, frame):
        for child in psutil.Process().children(recursive=True):
            try:
                child.send_signal(signal.SIGTERM)
            except psutil.Error:
                pass

    signal.signal(signal.SIGTERM, handler)


def _user_program_env() -> dict[str, str]:
    """What the container sets up for a user program beyond the toolkit's SM_* variables.

    jax.distributed's coordinator, process count and id (see jaxsm.cluster_env), and the start-up
    hook in user_site/ that registers that cluster environment with JAX and writes the failure file
    from an uncaught exception. The toolkit sets PYTHONPATH to its own sys.path (after installing
    the program's requirements.txt, so pip runs without the hook), hence the sys.path entry.
    """
    from . import distributed

    paths = SageMakerPaths.from_env()
    info = distributed.read_host_info(paths.resource_config)
    if USER_SITE not in sys.path:
        sys.path.insert(0, USER_SITE)
    log = logging.getLogger("jaxsm")
    log.info(
        "user program: jax.distributed coordinator %s, process %d of %d",
        info.coordinator_address(),
        info.process_id,
        info.num_hosts,
    )
    return {**distributed.user_program_env(info), "JAXSM_TOOLKIT_PID": str(os.getpid())}


def framework_main() -> None:
    from sagemaker_training import entry_point, environment, runner

    from . import network_probe

    env = environment.Environment()
    network_probe.run_at_start()
    if env.user_entry_point:
        _forward_sigterm_to_children()
        submitted = "sagemaker_submit_directory" in environment.read_hyperparameters()
        entry_point.run(
            env.module_dir if submitted else default_program_dir(),
            env.user_entry_point,
            env.to_cmd_args(),
            {**env.to_env_vars(), **_user_program_env()},
            runner_type=runner.ProcessRunnerType,
        )
        return
    from . import train

    train.run_guarded()


def _prepare_layout(paths: SageMakerPaths) -> None:
    """Make the toolkit's assumptions true outside SageMaker.

    The toolkit reads resourceconfig.json, inputdataconfig.json and hyperparameters.json
    unconditionally, and writes the failure file into output/ without creating it (when that
    write fails inside its error handler, its `finally` exits 0 and hides the error).
    SageMaker always provides all of them; a hand-made local base directory may not, so the
    missing ones get what SageMaker would write for a single host with no hyperparameters.
    """
    log = logging.getLogger("jaxsm")
    paths.output.mkdir(parents=True, exist_ok=True)
    # SageMaker always provides /opt/ml/model; a user program writes to SM_MODEL_DIR without creating it.
    paths.model.mkdir(parents=True, exist_ok=True)
    # A restarted job in the same base directory (local mode, resume after SIGTERM) must not
    # inherit the previous attempt's verdict: the toolkit never overwrites an existing failure.
    for stale in (paths.failure, paths.output / "success"):
        if stale.exists():
            log.info("removing %s from a previous attempt", stale)
            stale.unlink()
    paths.input_config.mkdir(parents=True, exist_ok=True)
    channels = sorted(p.name for p in paths.input_data.iterdir() if p.is_dir()) if paths.input_data.is_dir() else []
    defaults = {
        paths.resource_config: {"current_host": "algo-1", "hosts": ["algo-1"], "network_interface_name": "lo"},
        paths.input_config / "inputdataconfig.json": {
            c: {"TrainingInputMode": "File", "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"}
            for c in channels
        },
        paths.hyperparameters: {},
    }
    for path, content in defaults.items():
        if not path.exists():
            path.write_text(json.dumps(content))
            log.info("%s missing: wrote the single-host default", path)


def _apply_gpu_defaults(paths: SageMakerPaths) -> None:
    """GPU XLA flags, memory fraction and NCCL network (gpu_env), before anything starts JAX."""
    from . import distributed, gpu_env
    from .network_probe import has_nvidia_gpu

    try:
        hosts = distributed.read_host_info(paths.resource_config).num_hosts
    except Exception:  # noqa: BLE001 - the trainer reports a bad resourceconfig.json itself
        hosts = 1
    for line in gpu_env.apply(os.environ, has_nvidia_gpu(), hosts):
        logging.getLogger("jaxsm").info("GPU default (override it in the job's Environment): %s", line)


def cli() -> None:
    """Console script `train`."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    paths = SageMakerPaths.from_env()
    _prepare_layout(paths)
    os.environ.setdefault("SAGEMAKER_TRAINING_MODULE", DEFAULT_MODULE)
    _apply_gpu_defaults(paths)
    from sagemaker_training.cli.train import main

    try:
        main()
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
        # Belt and braces: never report success when a failure was recorded.
        if code == 0 and paths.failure.exists():
            code = 1
        raise SystemExit(code) from None
