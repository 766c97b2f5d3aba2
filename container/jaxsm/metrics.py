"""The metric log lines and the MetricDefinitions regexes that match them.

SageMaker scrapes stdout (CloudWatch) with these regexes; the tuner's objective is usually
`val_loss` (Minimize). The trainer prints, for every eval and once at the end:
  step=120 train_loss=2.3100 val_loss=2.4000 tokens_per_sec=5100.0
  final val_loss=2.3900

Values use the number pattern of AWS's own metric regexes (the first group is the value). A
`nan` or `inf` never matches: CloudWatch rejects non-finite metric values
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDatum.html), so
SageMaker could not report one anyway. Instead the trainer fails a job whose loss is not finite
(FailureReason `training diverged: ...`), which a tuning job counts as a failed trial.
The pipeline's defaults (contracts/pipeline-spec.ts DEFAULT_METRIC_DEFINITIONS) use the same regexes.
"""

NUMBER = r"([-+]?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?)"

METRIC_DEFINITIONS = [
    {"Name": "step", "Regex": r"step=([0-9]+) train_loss="},
    {"Name": "train_loss", "Regex": "train_loss=" + NUMBER},
    {"Name": "val_loss", "Regex": "val_loss=" + NUMBER},
    {"Name": "tokens_per_sec", "Regex": "tokens_per_sec=" + NUMBER},
    {"Name": "final_val_loss", "Regex": "final val_loss=" + NUMBER},
]
