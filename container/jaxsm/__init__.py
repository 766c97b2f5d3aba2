"""jaxsm: a JAX/Flax bring-your-own container for Amazon SageMaker.

Modules by role:
  paths       - the /opt/ml layout (honours SAGEMAKER_BASE_DIR)
  errors      - the user-facing error type and the failure-file writer
  config      - typed, validated hyperparameters parsed from hyperparameters.json
  distributed - resourceconfig.json, coordinator address, jax.distributed init
  cluster_env - JAX cluster auto-detection for SageMaker (a user program's no-argument initialize)
  user_site/  - the start-up hook of a user program (registers cluster_env, writes the failure file)
  tokenizer   - the byte-level tokenizer (no external vocabulary files)
  model       - the decoder-only Flax language model
  data        - channel loading, deterministic batch sampling, validation windows
  sharding    - the (data, fsdp) device mesh and the layout of parameters, optimizer state, batches
  steps       - precision defaults, the optimizer, sharded state init, the jitted train/eval steps
  checkpoint  - Orbax checkpoints of the sharded state from every process, fallback, fingerprints
  stopping    - SIGTERM: stop after a step every host agrees on, without a per-step collective
  train       - the training loop (the default program)
  toolkit     - glue that runs the trainer through sagemaker-training
  generate    - batched jitted sampling used by serving
  serving/    - the HTTP server, request batching and the built-in handler
  processing  - the `prepare` processing entrypoint
"""

__version__ = "0.1.0"
