"""The seed's own client code, SageMaker Python SDK v2, against the local stack and the jaxsm image.

One flow, in order, as a team migrating would run it: `Estimator(entry_point="train.py",
source_dir=...)` on 2 hosts, `HyperparameterTuner.fit()`, `estimator.register()`, then
`Model(entry_point="inference.py", source_dir=...).deploy()` and a prediction. The code is
examples/user-code (an ordinary JAX train.py and the four-function inference.py). Local mode runs
the image's entrypoints as processes, so the image URI only has to look like one.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess

import boto3
import pytest
import sagemaker
from botocore.exceptions import ClientError
from conftest import CONTAINER_BIN, REPO
from sagemaker.deserializers import JSONDeserializer
from sagemaker.estimator import Estimator
from sagemaker.model import Model
from sagemaker.predictor import Predictor
from sagemaker.serializers import JSONSerializer
from sagemaker.tuner import ContinuousParameter, HyperparameterTuner

IMAGE = "000000000000.dkr.ecr.us-east-1.amazonaws.com/jax-lm:local"
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
METRICS = [
    {"Name": "train_loss", "Regex": "train_loss=([0-9.]+)"},
    {"Name": "val_loss", "Regex": "val_loss=([0-9.]+)"},
]
HYPERPARAMETERS = {"steps": 30, "eval-every": 10, "batch-size": 32}

state: dict[str, object] = {}


@pytest.fixture(scope="module")
def session(stack) -> sagemaker.Session:
    assert sagemaker.__version__.startswith("2."), sagemaker.__version__
    # A named default bucket: the SDK would derive one from the account, asking STS at its public endpoint
    # (sagemaker.utils.sts_regional_endpoint overrides AWS_ENDPOINT_URL_STS).
    return sagemaker.Session(boto_session=boto3.Session(region_name=stack["AWS_REGION"]), default_bucket="sdk-e2e")


@pytest.fixture(scope="module")
def source_dir(tmp_path_factory) -> str:
    src = tmp_path_factory.mktemp("sdk") / "src"
    shutil.copytree(REPO / "examples" / "user-code", src, ignore=shutil.ignore_patterns("__pycache__"))
    return str(src)


@pytest.fixture(scope="module")
def channels(session, tmp_path_factory) -> dict[str, str]:
    """The demo's text data in S3, as `estimator.fit({"train": "s3://...", "val": "s3://..."})` takes it."""
    base = tmp_path_factory.mktemp("prepare")
    subprocess.run(
        [CONTAINER_BIN / "prepare", "--source", "builtin"],
        env={"SAGEMAKER_BASE_DIR": str(base), "PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
    )
    bucket = session.default_bucket()
    out = base / "processing" / "output"
    return {
        ch: session.upload_data(str(out / ch), bucket=bucket, key_prefix=f"sdk-e2e/data/{ch}")
        for ch in ("train", "val")
    }


def estimator(session, source_dir, instance_count) -> Estimator:
    return Estimator(
        image_uri=IMAGE,
        role=ROLE,
        instance_type="ml.m5.xlarge",
        instance_count=instance_count,
        hyperparameters=HYPERPARAMETERS,
        entry_point="train.py",
        source_dir=source_dir,
        metric_definitions=METRICS,
        sagemaker_session=session,
        max_run=1800,
    )


def test_estimator_fit_runs_train_py_on_two_hosts(session, source_dir, channels):
    est = estimator(session, source_dir, 2)
    est.fit(channels, logs="None")
    job = est.latest_training_job.describe()
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    # What the SDK sent: its script-mode hyperparameters, JSON-encoded, pointing at the sourcedir.tar.gz it uploaded.
    assert job["HyperParameters"]["sagemaker_program"] == '"train.py"'
    assert job["HyperParameters"]["sagemaker_submit_directory"].endswith('/source/sourcedir.tar.gz"')
    metrics = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert 0 < metrics["val_loss"] < 6  # below ln(256) = 5.5 plus noise: it learned something
    assert est.model_data.endswith("/output/model.tar.gz")
    state["estimator"] = est


def test_hyperparameter_tuner_fit(session, source_dir, channels):
    tuner = HyperparameterTuner(
        estimator(session, source_dir, 1),
        objective_metric_name="val_loss",
        objective_type="Minimize",
        hyperparameter_ranges={"learning-rate": ContinuousParameter(0.001, 0.01, scaling_type="Logarithmic")},
        metric_definitions=METRICS,
        strategy="Random",
        max_jobs=2,
        max_parallel_jobs=2,
    )
    try:
        tuner.fit(channels, include_cls_metadata=False)
    except ClientError as err:
        # The SDK sends HyperParameterTuningResourceConfig where local mode still requires ResourceConfig; the
        # request validation that accepts it is being rebuilt from botocore's model elsewhere. Anything else fails.
        if "trainingJobDefinition.resourceConfig" in str(err):
            pytest.xfail(f"local mode refuses the SDK's HyperParameterTuningResourceConfig: {err}")
        raise
    result = tuner.describe()
    assert result["HyperParameterTuningJobStatus"] == "Completed"
    assert result["TrainingJobStatusCounters"]["Completed"] == 2
    trials = session.sagemaker_client.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=tuner.latest_tuning_job.name
    )["TrainingJobSummaries"]
    best = tuner.best_training_job()
    assert best in {t["TrainingJobName"] for t in trials}
    trial = session.sagemaker_client.describe_training_job(TrainingJobName=best)
    assert trial["HyperParameters"]["sagemaker_program"] == '"train.py"'  # every trial runs the user's script
    assert 0.001 <= float(trial["HyperParameters"]["learning-rate"]) <= 0.01


def test_estimator_register(session):
    est = state.get("estimator")
    if est is None:
        pytest.skip("needs the trained estimator of test_estimator_fit_runs_train_py_on_two_hosts")
    package = est.register(
        content_types=["application/json"],
        response_types=["application/json"],
        inference_instances=["ml.m5.large"],
        transform_instances=["ml.m5.large"],
        model_package_group_name="sdk-e2e-lm",
        approval_status="Approved",
    )
    described = session.sagemaker_client.describe_model_package(ModelPackageName=package.model_package_arn)
    assert described["ModelApprovalStatus"] == "Approved"
    assert described["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] == est.model_data
    # register() looked the group up with Search and created it: both are served.
    groups = session.sagemaker_client.search(
        Resource="ModelPackageGroup",
        SearchExpression={"Filters": [{"Name": "ModelPackageGroupName", "Operator": "Equals", "Value": "sdk-e2e-lm"}]},
    )
    assert [r["ModelPackageGroup"]["ModelPackageGroupName"] for r in groups["Results"]] == ["sdk-e2e-lm"]


def test_model_with_inference_py_deploys_and_predicts(session, source_dir):
    est = state.get("estimator")
    if est is None:
        pytest.skip("needs the trained estimator of test_estimator_fit_runs_train_py_on_two_hosts")
    model = Model(
        image_uri=IMAGE,
        model_data=est.model_data,
        role=ROLE,
        entry_point="inference.py",
        source_dir=source_dir,
        sagemaker_session=session,
        predictor_cls=Predictor,  # a bare Model's deploy() returns no predictor
    )
    predictor = model.deploy(
        initial_instance_count=1,
        instance_type="ml.m5.large",
        endpoint_name="sdk-e2e-lm",
        serializer=JSONSerializer(),
        deserializer=JSONDeserializer(),
    )
    try:
        answer = predictor.predict({"inputs": "The assert statement", "max_new_tokens": 8})
        assert answer["model"] == "ByteMLP"  # inference.py answered (repacked under code/ by the SDK)
        assert isinstance(answer["generated_text"], str)
        container = session.sagemaker_client.describe_model(ModelName=model.name)["PrimaryContainer"]
        assert container["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"
        assert container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"
    finally:
        predictor.delete_endpoint()


def test_transformer_transform(session, source_dir, channels, tmp_path):
    """Batch Transform of score records (JSON Lines) with the user's inference.py: one answer line per record."""
    est = state.get("estimator")
    if est is None:  # run on its own (-k transform): train the example on one host first
        est = estimator(session, source_dir, 1)
        est.fit(channels, logs="None")
    model = Model(
        image_uri=IMAGE,
        model_data=est.model_data,
        role=ROLE,
        entry_point="inference.py",
        source_dir=source_dir,
        sagemaker_session=session,
    )
    texts = ["def add(a, b):\n    return a + b", "The quick brown fox", "import numpy as np"]
    records = tmp_path / "records.jsonl"
    records.write_text("".join(json.dumps({"score": t}) + "\n" for t in texts))
    data = session.upload_data(str(records), bucket=session.default_bucket(), key_prefix="sdk-e2e/eval")
    transformer = model.transformer(
        instance_count=1,
        instance_type="ml.m5.large",
        strategy="MultiRecord",
        assemble_with="Line",
        accept="application/jsonlines",
        output_path=f"s3://{session.default_bucket()}/sdk-e2e/scores",
    )
    transformer.transform(data, content_type="application/jsonlines", split_type="Line", logs=False)
    transformer.wait(logs=False)
    job = session.sagemaker_client.describe_transform_job(TransformJobName=transformer.latest_transform_job.name)
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    out = session.read_s3_file(session.default_bucket(), "sdk-e2e/scores/records.jsonl.out")
    answers = [json.loads(line) for line in out.splitlines()]
    assert [a["tokens"] for a in answers] == [len(t.encode()) for t in texts]
    assert all(math.isfinite(a["nll"]) and a["nll"] > 0 for a in answers)


def test_processor_run(session):
    from sagemaker.processing import ProcessingOutput, Processor

    processor = Processor(
        image_uri=IMAGE,
        role=ROLE,
        instance_count=1,
        instance_type="ml.m5.large",
        entrypoint=["prepare", "--source", "builtin"],
        sagemaker_session=session,
    )
    processor.run(outputs=[ProcessingOutput(output_name="train", source="/opt/ml/processing/output/train")])
    job = processor.latest_job.describe()
    assert job["ProcessingJobStatus"] == "Completed", job.get("FailureReason")
    # The SDK chose the output's S3 location; the container's train channel is there.
    destination = job["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    bucket, _, prefix = destination.removeprefix("s3://").partition("/")
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
    assert f"{prefix.rstrip('/')}/corpus.txt" in keys
