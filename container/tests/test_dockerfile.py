"""Cheap checks of the image definition (no build): the Dockerfile's variants and the CUDA lock's consistency.

The cuda12 image itself is built by scripts/build-cuda-image.sh (several GB, not part of `npm test`); these checks
catch what would make that build, or CodeBuild's, fail or bring a second CUDA.
"""

from __future__ import annotations

import re
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
DOCKERFILE = (HERE / "Dockerfile").read_text()


def pins(lock: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, sha256 hashes) of a pip requirements file written one requirement per line group."""
    out: dict[str, tuple[str, list[str]]] = {}
    name = ""
    for line in lock.read_text().splitlines():
        if m := re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line):
            name = re.sub(r"[-_.]+", "-", m[1]).lower()
            assert name not in out, f"{lock.name} pins {name} twice"
            out[name] = (m[2], [])
        for sha in re.findall(r"--hash=sha256:([0-9a-f]{64})", line):
            out[name][1].append(sha)
    return out


def arg_default(name: str) -> str:
    m = re.search(rf"^ARG {name}=(.*)$", DOCKERFILE, re.M)
    assert m, f"Dockerfile has no ARG {name} with a default"
    return m[1].strip()


def test_the_variants_are_cuda12_by_default_and_cpu():
    assert arg_default("JAX_VARIANT") == "cuda12"
    assert 'case "$JAX_VARIANT" in cuda12|cpu) ;;' in DOCKERFILE
    # cuda12 installs the lock by hash, checks the environment and that JAX's CUDA plugin imports.
    assert "pip install $cert --no-deps --require-hashes -r requirements-cuda.lock" in DOCKERFILE
    assert "pip check" in DOCKERFILE and "import jax_cuda12_plugin" in DOCKERFILE


def test_the_default_base_brings_no_cuda_of_its_own():
    """One CUDA stack: NVIDIA's wheels. A CUDA base image (nvidia/cuda:*) would add a second, unused one."""
    base = arg_default("BASE_IMAGE")
    assert not base.startswith("nvidia/"), base
    assert base.startswith("ubuntu:"), base  # what the EFA installer supports and the lock's CPython 3.12 is


def test_the_local_cuda12_build_skips_the_efa_installer():
    """This machine cannot reach efa-installer.amazonaws.com: the local build says so instead of failing there."""
    script = (HERE / "scripts" / "build-cuda-image.sh").read_text()
    assert 'INSTALL_EFA="${INSTALL_EFA:-no}"' in script
    assert '--build-arg "INSTALL_EFA=$INSTALL_EFA"' in script and "JAX_VARIANT=cuda12" in script


def test_the_cuda_lock_adds_to_the_cpu_lock_for_the_same_jax():
    cpu = pins(HERE / "requirements.lock")
    cuda = pins(HERE / "requirements-cuda.lock")
    assert not set(cpu) & set(cuda), f"pinned in both locks: {sorted(set(cpu) & set(cuda))}"
    jax_version = cpu["jax"][0]
    assert cuda["jax-cuda12-plugin"][0] == cuda["jax-cuda12-pjrt"][0] == jax_version
    for name, (version, hashes) in cuda.items():
        assert hashes, f"{name}=={version} has no --hash (the image installs with --require-hashes)"
    for wheel in ("nvidia-cudnn-cu12", "nvidia-nccl-cu12", "nvidia-cuda-runtime-cu12", "nvidia-cublas-cu12"):
        assert wheel in cuda


def test_the_cuda_lock_has_the_plugin_for_each_base_python():
    """The plugin's wheel is per CPython: 3.12 (the cloud's Ubuntu 24.04 base) and 3.11 (the local Debian 12 base)
    each need their hash, or `pip install --require-hashes` refuses the wheel it picks."""
    text = (HERE / "requirements-cuda.lock").read_text()
    assert "for CPython 3.11 and 3.12" in text
    _, hashes = pins(HERE / "requirements-cuda.lock")["jax-cuda12-plugin"]
    assert len(hashes) == 2
    for tag in ("cp311-cp311", "cp312-cp312"):
        assert re.search(rf"# .*jax_cuda12_plugin-[0-9.]+-{tag}-manylinux", text), tag
