"""Default training program baked at /opt/jaxsm/code/train.py (never /opt/ml/code: see jaxsm/toolkit.py).

Runs the project trainer; selected when `sagemaker_program=train.py` is given without a
submit directory. Hyperparameters are read from hyperparameters.json (the toolkit's
command-line copies of them are ignored on purpose: the JSON keeps their types intact).
"""

from jaxsm.train import main

if __name__ == "__main__":
    main()
