"""Each host reads only its share of a channel (jaxsm/data.py): byte ranges of a replicated channel, all of a
ShardedByS3Key one, File and FastFile modes from inputdataconfig.json, Pipe refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

from jaxsm.data import ChannelSpec, channel_spec, load_channel, train_batch
from jaxsm.errors import UserError
from jaxsm.tokenizer import EOS_ID


@pytest.fixture
def channel(tmp_path):
    d = tmp_path / "train"
    d.mkdir()
    for i, text in enumerate(["first file, some text\n", "second one\n" * 30, "third\n" * 7]):
        (d / f"part-{i}.txt").write_text(text)
    return d


def whole(channel) -> np.ndarray:
    parts = []
    for f in sorted(channel.iterdir()):
        parts += [np.frombuffer(f.read_bytes(), np.uint8).astype(np.uint16), np.array([EOS_ID], np.uint16)]
    return np.concatenate(parts)


def test_hosts_of_a_replicated_channel_read_disjoint_shares_that_make_up_the_whole(channel):
    assert np.array_equal(load_channel("train", channel, 4), whole(channel))  # one host: the whole channel
    shares = [load_channel("train", channel, 4, (i, 3)) for i in range(3)]
    assert np.array_equal(np.concatenate(shares), whole(channel))
    assert max(s.size for s in shares) <= whole(channel).size // 3 + 1


def test_a_sharded_by_s3_key_channel_is_read_whole_on_each_host(channel):
    spec = ChannelSpec("FastFile", "ShardedByS3Key")
    assert np.array_equal(load_channel("train", channel, 4, (2, 4), spec), whole(channel))


def test_too_small_a_share_names_the_channel_and_the_host(channel):
    with pytest.raises(UserError, match=r"channel 'train'.*host 4 of 4 reads"):
        load_channel("train", channel, 200, (3, 4))


def test_input_modes_come_from_inputdataconfig(tmp_path):
    cfg = {
        "train": {"TrainingInputMode": "FastFile", "S3DistributionType": "ShardedByS3Key", "RecordWrapperType": "None"},
        "val": {"TrainingInputMode": "Pipe", "S3DistributionType": "FullyReplicated"},
    }
    (tmp_path / "inputdataconfig.json").write_text(json.dumps(cfg))
    assert channel_spec(tmp_path, "train") == ChannelSpec("FastFile", "ShardedByS3Key")
    assert channel_spec(tmp_path, "other") == ChannelSpec("File", "FullyReplicated")
    with pytest.raises(UserError, match="channel 'val' has TrainingInputMode 'Pipe'"):
        channel_spec(tmp_path, "val")


def test_one_host_draws_the_batches_it_always_did_and_hosts_draw_their_own(channel):
    tokens = whole(channel)
    rng = np.random.default_rng([0, 7])  # the draw of earlier releases, for a job that resumes across the change
    starts = rng.integers(0, tokens.size - 8 - 1, size=4, endpoint=True)
    assert np.array_equal(train_batch(tokens, 0, 7, 4, 8), tokens[starts[:, None] + np.arange(9)].astype(np.int32))
    assert not np.array_equal(train_batch(tokens, 0, 7, 4, 8, host=0), train_batch(tokens, 0, 7, 4, 8, host=1))
