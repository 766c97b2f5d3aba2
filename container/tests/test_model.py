"""The scanned block stack is the same model as the per-layer one; only the layout differs."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxsm.config import parse_hyperparameters
from jaxsm.model import ModelConfig, build_model, init_params, unstack_layers
from jaxsm.steps import decay_mask

CFG = ModelConfig(n_layers=3, d_model=32, n_heads=2, seq_len=16, vocab_size=259)


def init(model) -> dict:
    return jax.jit(lambda: init_params(model, 0))()


def stack_layers(params: dict, n_layers: int) -> dict:
    out = {k: v for k, v in params.items() if not k.startswith("blocks_")}
    per_layer = [params[f"blocks_{i}"] for i in range(n_layers)]
    out["layers"] = {"block": jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *per_layer)}
    return out


def test_scanned_and_rematerialised_stack_computes_the_per_layer_model():
    plain = build_model(CFG)
    scanned = build_model(CFG, scan_layers=True, remat="full")
    params = init(plain)
    stacked = stack_layers(params, CFG.n_layers)
    assert str(jax.tree_util.tree_structure(stacked)) == str(jax.tree_util.tree_structure(init(scanned)))
    tokens = jnp.asarray(np.random.default_rng(0).integers(0, 256, (2, CFG.seq_len)), jnp.int32)
    a = jax.jit(lambda p: plain.apply({"params": p}, tokens))(params)
    b = jax.jit(lambda p: scanned.apply({"params": p}, tokens))(stacked)
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-5)
    # What the trainer saves after scanned training is what serving loads.
    back = unstack_layers(stacked, CFG.n_layers)
    assert jax.tree_util.tree_all(jax.tree_util.tree_map(np.array_equal, back, params))


def test_weight_decay_skips_vectors_also_when_layers_are_stacked():
    for scan in (False, True):
        model = build_model(CFG, scan_layers=scan)
        mask = decay_mask(jax.eval_shape(lambda m=model: init_params(m, 0)))
        block = mask["layers"]["block"] if scan else mask["blocks_0"]
        assert block["qkv"]["kernel"] and block["mlp_out"]["kernel"], scan
        assert not block["qkv"]["bias"] and not block["attn_norm"]["scale"], scan
        assert not mask["final_norm"]["scale"] and mask["embed"]["embedding"]


def test_gradients_agree_between_layouts():
    """One optimizer step's worth of gradient is the same function of the parameters either way."""
    import optax

    cfg = parse_hyperparameters({"n_layers": "3", "d_model": "32", "n_heads": "2", "seq_len": "16"})
    plain = build_model(CFG)
    scanned = build_model(CFG, scan_layers=True, remat="dots")
    params = init(plain)
    tokens = jnp.asarray(np.random.default_rng(1).integers(0, 256, (2, cfg.seq_len + 1)), jnp.int32)

    def loss(model, p):
        logits = model.apply({"params": p}, tokens[:, :-1])
        return optax.softmax_cross_entropy_with_integer_labels(logits, tokens[:, 1:]).mean()

    g_plain = jax.jit(jax.grad(lambda p: loss(plain, p)))(params)
    g_scan = unstack_layers(jax.jit(jax.grad(lambda p: loss(scanned, p)))(stack_layers(params, 3)), 3)
    for a, b in zip(jax.tree_util.tree_leaves(g_plain), jax.tree_util.tree_leaves(g_scan), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
