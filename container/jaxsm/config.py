"""Typed, validated training configuration parsed from hyperparameters.json.

SageMaker passes every hyperparameter as a string. The SageMaker Python SDK additionally
JSON-encodes values (so a string arrives as '"abc"', a bool as 'false' or 'False' depending on
the client). We decode each value once (JSON first, raw string otherwise), then coerce it to
the field's declared type and check its range. Any problem raises UserError naming the key and
the accepted range, because that text becomes the job's FailureReason.

Unknown keys are errors (a typo must not silently train with a default), except keys reserved
by SageMaker and its SDK: `sagemaker_*` (program, submit directory, region, ...) and
`_tuning_objective_metric` (injected by the hyperparameter tuner).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import UserError
from .tokenizer import MIN_VOCAB_SIZE

RESERVED_PREFIXES = ("sagemaker_",)
RESERVED_KEYS = frozenset({"_tuning_objective_metric"})


def _spec(default: Any, lo: float | None = None, hi: float | None = None, doc: str = "") -> Any:
    return field(default=default, metadata={"lo": lo, "hi": hi, "doc": doc})


def _choice(default: str, choices: tuple[str, ...], doc: str) -> Any:
    """A string hyperparameter with a fixed set of accepted values."""
    return field(default=default, metadata={"lo": None, "hi": None, "doc": doc, "choices": choices})


AUTO = "auto"
REMAT_POLICIES = ("none", "full", "dots")
ATTENTION_IMPLS = (AUTO, "xla", "cudnn")
GRAD_REDUCE_DTYPES = (AUTO, "bfloat16", "float32")
EXPORT_DTYPES = ("float32", "bfloat16")


@dataclass(frozen=True)
class TrainConfig:
    """All hyperparameters. Defaults are a tiny CPU-friendly model that learns in ~a minute."""

    # model
    n_layers: int = _spec(2, 1, 128, "transformer blocks")
    d_model: int = _spec(128, 8, 16384, "residual width; divisible by n_heads")
    n_heads: int = _spec(4, 1, 256, "attention heads")
    seq_len: int = _spec(128, 8, 32768, "context length in tokens (bytes)")
    vocab_size: int = _spec(
        MIN_VOCAB_SIZE, MIN_VOCAB_SIZE, 1 << 20, "byte-level: 256 bytes + 3 specials; larger pads the embedding"
    )
    mlp_ratio: int = _spec(4, 1, 16, "MLP hidden width = mlp_ratio * d_model")
    dropout: float = _spec(0.0, 0.0, 0.9, "dropout rate on residual branches")
    attention: str = _choice(
        AUTO,
        ATTENTION_IMPLS,
        "jax.nn.dot_product_attention kernel: auto = cudnn (flash) on GPU in bf16 when the head size allows, else xla",
    )
    # parallelism and memory (none of these change what is computed, only where and how)
    fsdp: int = _spec(
        0, 0, 4096, "devices per parameter shard group, within one host; 0 = all devices of a host, 1 = replicate"
    )
    scan_layers: bool = _spec(False, doc="run the blocks as one nn.scan (one compiled layer, stacked parameters)")
    remat: str = _choice(
        "none", REMAT_POLICIES, "recompute block activations in the backward pass: none, full, dots (keep matmuls)"
    )
    # optimisation
    batch_size: int = _spec(16, 1, 1 << 20, "global sequences per optimizer step (all hosts and devices)")
    grad_accum: int = _spec(1, 1, 1024, "micro-batches per optimizer step; batch_size must be divisible by it")
    learning_rate: float = _spec(3e-3, 1e-8, 10.0, "peak AdamW learning rate")
    min_lr_ratio: float = _spec(0.1, 0.0, 1.0, "final learning rate as a fraction of the peak (cosine decay)")
    warmup_steps: int = _spec(20, 0, 1 << 30, "linear warmup steps")
    max_steps: int = _spec(300, 1, 1 << 30, "optimizer steps in total")
    weight_decay: float = _spec(0.1, 0.0, 10.0, "AdamW decoupled weight decay (not applied to norms/biases)")
    grad_clip: float = _spec(1.0, 0.0, 1e6, "global-norm gradient clipping; 0 disables")
    bf16: bool | None = _spec(
        None, doc="bfloat16 compute (parameters and optimizer state stay float32); auto = on GPU/TPU, off on CPU"
    )
    grad_reduce_dtype: str = _choice(
        AUTO,
        GRAD_REDUCE_DTYPES,
        "dtype of the one gradient all-reduce between hosts per step: auto = the compute dtype (bfloat16 with bf16)",
    )
    seed: int = _spec(0, 0, 2**31 - 1, "seed for initialisation and batch sampling")
    export_dtype: str = _choice(
        "float32", EXPORT_DTYPES, "dtype of the exported model (params.msgpack): bfloat16 halves its size"
    )
    # cadence
    eval_every: int = _spec(50, 1, 1 << 30, "steps between eval log lines")
    eval_batches: int = _spec(4, 1, 10000, "validation batches per eval (batch_size sequences each)")
    checkpoint_every: int = _spec(100, 1, 1 << 30, "steps between Orbax checkpoints")
    keep_checkpoints: int = _spec(2, 1, 1000, "checkpoints kept on disk")

    def __post_init__(self) -> None:
        if self.d_model % self.n_heads:
            raise UserError(
                f"hyperparameter 'd_model' ({self.d_model}) must be divisible by 'n_heads' ({self.n_heads})"
            )
        if self.batch_size % self.grad_accum:
            raise UserError(
                f"hyperparameter 'batch_size' ({self.batch_size}) must be divisible by 'grad_accum' ({self.grad_accum})"
            )
        if self.warmup_steps > self.max_steps:
            raise UserError(
                f"hyperparameter 'warmup_steps' ({self.warmup_steps}) must be <= 'max_steps' ({self.max_steps})"
            )

    @property
    def micro_batch_size(self) -> int:
        return self.batch_size // self.grad_accum

    def model_dict(self) -> dict[str, Any]:
        """The subset that defines the architecture (saved with the model for serving)."""
        keys = ("n_layers", "d_model", "n_heads", "seq_len", "vocab_size", "mlp_ratio")
        return {k: getattr(self, k) for k in keys}

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def trajectory(self) -> dict[str, Any]:
        """The hyperparameters a checkpoint belongs to: all but those in NOT_FINGERPRINTED."""
        return {k: v for k, v in self.to_dict().items() if k not in NOT_FINGERPRINTED}

    def fingerprint(self) -> str:
        """Short stable hash of trajectory(): checkpoints are only resumed by a run with the same one."""
        canonical = json.dumps({"v": FINGERPRINT_VERSION, **self.trajectory()}, sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


# Hyperparameters that change how or how often work is done but not what is learned (or, for bf16, only
# the rounding): a run may change them and still resume. Every other field (architecture, optimiser,
# schedule, batch, seed, and scan_layers, which changes the checkpoint's parameter layout) is fingerprinted,
# so a field added later is fingerprinted unless it is listed here.
NOT_FINGERPRINTED = frozenset(
    {
        "grad_accum",
        "attention",
        "fsdp",
        "remat",
        "bf16",
        "grad_reduce_dtype",
        "export_dtype",
        "eval_every",
        "eval_batches",
        "checkpoint_every",
        "keep_checkpoints",
    }
)
FINGERPRINT_VERSION = 1


def describe_fields() -> list[tuple[str, str, Any, str, str]]:
    """(name, type, default, range, doc) rows; used by the README table and error messages."""
    rows = []
    for f in dataclasses.fields(TrainConfig):
        rows.append((f.name, _type_name(f.type), f.default, _range_text(f), f.metadata["doc"]))
    return rows


def _type_name(t: Any) -> str:
    """'int', 'float', 'bool', 'str', or 'bool | None' (a boolean that may be left to 'auto')."""
    return t if isinstance(t, str) else t.__name__


def _range_text(f: dataclasses.Field) -> str:
    t = _type_name(f.type)
    if t == "bool":
        return "true or false"
    if t == "bool | None":
        return f"true, false or {AUTO}"
    if t == "str":
        return "one of " + ", ".join(f.metadata["choices"])
    lo, hi = f.metadata["lo"], f.metadata["hi"]
    kind = "an integer" if t == "int" else "a number"
    return f"{kind} in [{lo}, {hi}]"


def _decode(raw: Any) -> Any:
    """Undo the SDK's JSON encoding when present; keep plain strings as they are."""
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw.strip()
    return raw


_TRUE = {"true", "1", "yes", "y", "on"}
_FALSE = {"false", "0", "no", "n", "off", ""}


def _coerce(name: str, f: dataclasses.Field, raw: Any) -> Any:
    t = _type_name(f.type)
    value = _decode(raw)
    # A JSON-encoded string inside a string ('"3"'), as some clients double-encode.
    if isinstance(value, str) and t not in ("bool", "bool | None"):
        value = _decode(value)
    bad = UserError(f"hyperparameter '{name}' = {raw!r} is invalid: expected {_range_text(f)}")
    if t == "str":
        if isinstance(value, str) and value.strip().lower() in f.metadata["choices"]:
            return value.strip().lower()
        raise bad
    if t == "bool | None":
        if isinstance(value, str) and value.strip().lower() == AUTO:
            return None
        t = "bool"
    if t == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise bad
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise bad
    try:
        number = float(value)
    except ValueError:
        raise bad from None
    if not math.isfinite(number):
        raise bad
    if t == "int":
        if number != int(number):
            raise bad
        number = int(number)
    lo, hi = f.metadata["lo"], f.metadata["hi"]
    if (lo is not None and number < lo) or (hi is not None and number > hi):
        raise bad
    return number


def is_reserved(key: str) -> bool:
    return key.startswith(RESERVED_PREFIXES) or key in RESERVED_KEYS


def parse_hyperparameters(raw: Mapping[str, Any]) -> TrainConfig:
    """Build a TrainConfig from the raw hyperparameters mapping (values usually strings)."""
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(k for k in raw if k not in fields and not is_reserved(k))
    if unknown:
        raise UserError(
            f"unknown hyperparameter(s) {', '.join(repr(k) for k in unknown)}; accepted: {', '.join(fields)}"
        )
    values = {k: _coerce(k, fields[k], v) for k, v in raw.items() if k in fields}
    return TrainConfig(**values)


def load_hyperparameters(path) -> TrainConfig:
    """Read hyperparameters.json (missing file = all defaults, as SageMaker omits it when empty)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return TrainConfig()
    try:
        raw = json.loads(text) if text.strip() else {}
    except ValueError as e:
        raise UserError(f"{path} is not valid JSON: {e}") from None
    if not isinstance(raw, dict):
        raise UserError(f"{path} must hold a JSON object of hyperparameters")
    return parse_hyperparameters(raw)
