"""Hyperparameter parsing: SageMaker strings, SDK JSON encoding, validation messages."""

import pytest

from jaxsm.config import TrainConfig, parse_hyperparameters
from jaxsm.errors import UserError


def test_strings_and_json_encoded_values_are_typed():
    cfg = parse_hyperparameters(
        {
            "n_layers": "3",
            "d_model": '"96"',
            "learning_rate": "0.001",
            "batch_size": "1e1",
            "bf16": '"True"',
            "seed": 7,
        }
    )
    assert (cfg.n_layers, cfg.d_model, cfg.learning_rate, cfg.batch_size, cfg.bf16, cfg.seed) == (
        3,
        96,
        0.001,
        10,
        True,
        7,
    )


@pytest.mark.parametrize(
    "raw,expected",
    [("False", False), ("false", False), ('"False"', False), ("0", False), ("True", True), ("true", True), ("1", True)],
)
def test_booleans(raw, expected):
    assert parse_hyperparameters({"bf16": raw}).bf16 is expected


def test_defaults_when_empty():
    assert parse_hyperparameters({}) == TrainConfig()


def test_reserved_keys_are_ignored():
    cfg = parse_hyperparameters(
        {
            "sagemaker_program": '"train.py"',
            "sagemaker_submit_directory": '"s3://b/k"',
            "_tuning_objective_metric": '"val_loss"',
            "max_steps": "5",
            "warmup_steps": "0",
        }
    )
    assert cfg.max_steps == 5


def test_unknown_key_is_named():
    with pytest.raises(UserError, match="'n_layer'.*accepted: n_layers"):
        parse_hyperparameters({"n_layer": "2"})


@pytest.mark.parametrize(
    "key,value,fragment",
    [
        ("learning_rate", "-1", r"'learning_rate' = '-1' is invalid: expected a number in \[1e-08, 10.0\]"),
        ("n_layers", "2.5", r"'n_layers' .* expected an integer in \[1, 128\]"),
        ("batch_size", "abc", r"'batch_size' .* an integer"),
        ("bf16", "maybe", r"'bf16' .* true, false or auto"),
        ("remat", "some", r"'remat' = 'some' is invalid: expected one of none, full, dots"),
        ("attention", "flash", r"'attention' .* one of auto, xla, cudnn"),
        ("fsdp", "-1", r"'fsdp' .* an integer in \[0, 4096\]"),
        ("max_steps", "nan", r"'max_steps'"),
    ],
)
def test_bad_values_name_key_and_range(key, value, fragment):
    with pytest.raises(UserError, match=fragment):
        parse_hyperparameters({key: value})


def test_cross_field_checks():
    with pytest.raises(UserError, match="'d_model' \\(100\\) must be divisible by 'n_heads' \\(3\\)"):
        parse_hyperparameters({"d_model": "100", "n_heads": "3"})
    with pytest.raises(UserError, match="'batch_size'.*'grad_accum'"):
        parse_hyperparameters({"batch_size": "10", "grad_accum": "3"})


def test_scale_options_and_auto_precision():
    cfg = parse_hyperparameters({"bf16": "auto", "remat": '"Full"', "scan_layers": "true", "fsdp": "8"})
    assert (cfg.bf16, cfg.remat, cfg.scan_layers, cfg.fsdp, cfg.attention) == (None, "full", True, 8, "auto")
    defaults = TrainConfig()
    assert (defaults.bf16, defaults.remat, defaults.scan_layers, defaults.fsdp) == (None, "none", False, 0)


def test_auto_precision_is_float32_and_xla_on_cpu_bf16_and_cudnn_on_gpu():
    import jax.numpy as jnp

    from jaxsm.steps import resolve_precision

    cfg = TrainConfig()
    assert (resolve_precision(cfg, "cpu").compute_dtype, resolve_precision(cfg, "cpu").attention) == (
        jnp.float32,
        "xla",
    )
    gpu = resolve_precision(parse_hyperparameters({"d_model": "768", "n_heads": "12"}), "gpu")
    assert (gpu.compute_dtype, gpu.attention) == (jnp.bfloat16, "cudnn")
    odd_heads = resolve_precision(parse_hyperparameters({"d_model": "132", "n_heads": "2"}), "gpu")
    assert odd_heads.attention == "xla" and "head size" in odd_heads.why  # 66 is not a multiple of 8
    assert resolve_precision(parse_hyperparameters({"bf16": "false"}), "gpu").attention == "xla"
