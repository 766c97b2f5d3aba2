"""The exported model: assembled by the first host from its own devices' shards, in float32 or bfloat16."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import serialization

from jaxsm.config import parse_hyperparameters
from jaxsm.model import ModelConfig, build_model, init_params
from jaxsm.train import host_params, write_model


def test_bf16_export_halves_the_file_and_serves(tmp_path):
    cfg = parse_hyperparameters({"n_layers": "1", "d_model": "32", "n_heads": "2", "seq_len": "32"})
    params = init_params(build_model(ModelConfig.from_dict(cfg.model_dict())), 3)
    full = host_params(params)
    half = host_params(params, jnp.bfloat16)
    leaves = zip(*(jax.tree_util.tree_leaves(t) for t in (full, half, params)), strict=True)
    for a, b, x in leaves:
        assert a.dtype == np.float32 and np.array_equal(a, np.asarray(x))
        assert b.dtype == jnp.bfloat16 and np.array_equal(b, np.asarray(x).astype(jnp.bfloat16))
    write_model(tmp_path / "f32", cfg, full, {})
    write_model(tmp_path / "bf16", cfg, half, {})
    sizes = [(tmp_path / d / "params.msgpack").stat().st_size for d in ("f32", "bf16")]
    assert sizes[1] < 0.6 * sizes[0]
    restored = serialization.msgpack_restore((tmp_path / "bf16" / "params.msgpack").read_bytes())
    assert {a.dtype for a in jax.tree_util.tree_leaves(restored)} == {jnp.dtype(jnp.bfloat16)}
    # What serving does with them (jaxsm.generate.Generator): cast to its compute dtype.
    assert all(jnp.asarray(a, jnp.float32).dtype == jnp.float32 for a in jax.tree_util.tree_leaves(restored))
