"""The metric log lines and the MetricDefinitions regexes that match them.

SageMaker scrapes stdout (CloudWatch) with these regexes; the tuner's objective is usually
`val_loss` (Minimize). The trainer prints, for every eval and once at the end:
  step=120 train_loss=2.3100 val_loss=2.4000 tokens_per_sec=5100.0
  final val_loss=2.3900
"""

METRIC_DEFINITIONS = [
    {"Name": "step", "Regex": r"step=([0-9]+) train_loss="},
    {"Name": "train_loss", "Regex": r"train_loss=([0-9.]+)"},
    {"Name": "val_loss", "Regex": r"val_loss=([0-9.]+)"},
    {"Name": "tokens_per_sec", "Regex": r"tokens_per_sec=([0-9.]+)"},
    {"Name": "final_val_loss", "Regex": r"final val_loss=([0-9.]+)"},
]
