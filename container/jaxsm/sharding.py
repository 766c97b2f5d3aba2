"""The device mesh, and where parameters, optimizer state and batches live on it.

The mesh has two axes, ("data", "fsdp"). An "fsdp" group is `fsdp` devices of one host (the 8
NVSwitch-connected A100s of a p4de by default); "data" runs across groups and hosts (EFA).

* Parameters and the optimizer state are split over "fsdp" along their model-width (EMBED)
  dimension and replicated over "data": each device holds 1/fsdp of the state, and the state's
  traffic (weight all-gathers, gradient reduce-scatters) stays on the host's NVLink.
* A batch is split over both axes: every device of every host gets different rows. Across hosts
  XLA all-reduces the gradient shards.

The model names its axes (model.EMBED, model.BATCH, ...); LOGICAL_RULES maps them onto mesh axes.
A dimension that does not divide by its mesh axis stays whole (replicated) instead of failing.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import flax.linen as nn
import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from . import model as m
from .errors import UserError

log = logging.getLogger(__name__)

DATA, FSDP = "data", "fsdp"
MESH_AXES = (DATA, FSDP)
BATCH_AXES = (DATA, FSDP)

LOGICAL_RULES: tuple[tuple[str, Any], ...] = (
    (m.BATCH, BATCH_AXES),
    (m.EMBED, FSDP),
    (m.LENGTH, None),
    (m.ACT_EMBED, None),
    (m.MLP, None),
    (m.QKV, None),
    (m.VOCAB, None),
    (m.POSITION, None),
    (m.NORM, None),
    (m.LAYERS, None),
)

# Inside the train step's shard_map over `data` (steps.py) each data group sees its own rows: the batch is
# split over the group's fsdp devices only ("data" is manual there and may not appear in a constraint).
LOGICAL_RULES_IN_DATA_GROUP: tuple[tuple[str, Any], ...] = tuple(
    (name, FSDP if name == m.BATCH else axes) for name, axes in LOGICAL_RULES
)


def make_mesh(fsdp: int) -> Mesh:
    """(data, fsdp) mesh over every device of every process; `fsdp` 0 means all devices of a host.

    Devices are ordered by process, so each process owns a contiguous block of the batch (what
    `local_rows` hands it) and every fsdp group lies within one host.
    """
    local = jax.local_device_count()
    size = fsdp or local
    if local % size:
        raise UserError(
            f"hyperparameter 'fsdp' ({fsdp}) must divide the {local} devices of each host (0 = all of them)"
        )
    devices = sorted(jax.devices(), key=lambda d: (d.process_index, d.id))
    return Mesh(np.array(devices).reshape(-1, size), MESH_AXES)


def batch_sharding(mesh: Mesh, batch_dim: int, ndim: int) -> NamedSharding:
    """Rows of dimension `batch_dim` split over every device; the other dimensions whole."""
    spec: list[Any] = [None] * ndim
    spec[batch_dim] = BATCH_AXES
    return NamedSharding(mesh, P(*spec))


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P())


def _axis_size(mesh: Mesh, axes: Any) -> int:
    names = axes if isinstance(axes, tuple) else (axes,)
    return math.prod(mesh.shape[a] for a in names)


def shardings_of(boxed: Any, mesh: Mesh) -> Any:
    """Tree of NamedSharding (the unboxed tree's structure) for a tree of nn.LogicallyPartitioned
    leaves (arrays or ShapeDtypeStructs); unannotated leaves are replicated."""
    specs = nn.get_partition_spec(boxed)
    shapes = nn.unbox(boxed)

    def one(spec: P, shaped: Any) -> NamedSharding:
        mesh_spec = nn.logical_to_mesh_axes(tuple(spec), LOGICAL_RULES) or P()
        dims = [
            axes if axes is None or shaped.shape[i] % _axis_size(mesh, axes) == 0 else None
            for i, axes in enumerate(mesh_spec)
        ]
        return NamedSharding(mesh, P(*dims))

    return jax.tree_util.tree_map(one, specs, shapes, is_leaf=lambda x: isinstance(x, P))


def sharded_fraction(shapes: Any, shardings: Any) -> float:
    """Share of the elements of `shapes` that are split (not replicated) under `shardings`."""
    total = split = 0
    for shaped, sh in zip(jax.tree_util.tree_leaves(shapes), jax.tree_util.tree_leaves(shardings), strict=True):
        n = math.prod(shaped.shape)
        total += n
        if any(axes is not None for axes in sh.spec):
            split += n
    return split / total if total else 0.0


def bytes_per_device(shapes: Any, shardings: Any) -> int:
    """Bytes one device holds of a tree laid out by `shardings`."""
    total = 0
    for shaped, sh in zip(jax.tree_util.tree_leaves(shapes), jax.tree_util.tree_leaves(shardings), strict=True):
        shard = sh.shard_shape(shaped.shape)
        total += math.prod(shard) * np.dtype(shaped.dtype).itemsize
    return total
