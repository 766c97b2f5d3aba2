"""Start-up hook of a user training program (script mode), and of nothing else.

jaxsm.toolkit.framework_main puts this directory on the PYTHONPATH the training toolkit gives the
user's program (after the toolkit has installed its requirements.txt), and Python imports
`sitecustomize` at start-up. This one:

* registers jaxsm.cluster_env.SageMakerCluster with JAX right after JAX imports its cluster package
  (the supported way to make `jax.distributed.initialize()` work without arguments: ClusterEnv
  subclasses are detected when imported), without importing JAX itself, so Python processes that
  never use JAX start as fast as before;
* in the program the toolkit started (not in its subprocesses), writes SageMaker's failure file from
  an uncaught exception, `<Type>: <message> (<file>:<line> of the program's own code)`, as the
  built-in trainer does, unless the program wrote one itself (the toolkit keeps an existing one);
* then runs the `sitecustomize` this one shadows, if there is one further down sys.path.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import traceback
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any

_CLUSTERS = "jax._src.clusters"
_HERE = os.path.dirname(os.path.abspath(__file__))


class _RegisterAfterLoad(importlib.abc.Loader):
    """Runs JAX's own loader, then imports jaxsm.cluster_env (which subclasses ClusterEnv)."""

    def __init__(self, inner: importlib.abc.Loader) -> None:
        self._inner = inner

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self._inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._inner.exec_module(module)
        import jaxsm.cluster_env  # noqa: F401  (registration is the import)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _ClusterEnvFinder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != _CLUSTERS:
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _RegisterAfterLoad(spec.loader)
        return spec


def _install_failure_hook(base: Path) -> None:
    failure = base / "output" / "failure"
    previous = sys.excepthook

    def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        try:
            if not issubclass(exc_type, KeyboardInterrupt) and not failure.exists():
                # Name the innermost line of the user's own code (the toolkit runs it from its code
                # directory), not a library's internals.
                frames = traceback.extract_tb(tb)
                cwd = os.getcwd() + os.sep
                own = [f for f in frames if os.path.abspath(f.filename).startswith(cwd)] or frames
                where = f" ({os.path.relpath(own[-1].filename)}:{own[-1].lineno})" if own else ""
                failure.parent.mkdir(parents=True, exist_ok=True)
                failure.write_text(f"{exc_type.__name__}: {exc}{where}"[:1024])
        except OSError:
            pass  # the toolkit still reports the exit code
        previous(exc_type, exc, tb)

    sys.excepthook = hook


def _chain_shadowed_sitecustomize() -> None:
    rest = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None or spec.origin == os.path.abspath(__file__):
        return
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)


sys.meta_path.insert(0, _ClusterEnvFinder())
if os.environ.get("JAXSM_TOOLKIT_PID") == str(os.getppid()):
    _install_failure_hook(Path(os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml")))
_chain_shadowed_sitecustomize()
