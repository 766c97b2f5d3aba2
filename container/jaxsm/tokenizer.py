"""Byte-level tokenizer: token id = UTF-8 byte value, plus three special ids.

No vocabulary file is needed, any text round-trips, and the serving side can rebuild the
tokenizer from the small `tokenizer.json` written next to the model.
"""

from __future__ import annotations

from typing import Any

import numpy as np

PAD_ID = 256
BOS_ID = 257
EOS_ID = 258
MIN_VOCAB_SIZE = 259


class ByteTokenizer:
    kind = "byte"
    pad_id = PAD_ID
    bos_id = BOS_ID
    eos_id = EOS_ID

    def encode(self, text: str) -> np.ndarray:
        return np.frombuffer(text.encode("utf-8"), dtype=np.uint8).astype(np.int32)

    def decode(self, ids) -> str:
        # Specials and ids beyond the byte range (padded vocab) are dropped, not rendered.
        data = bytes(int(i) for i in ids if 0 <= int(i) < 256)
        return data.decode("utf-8", errors="replace")

    def to_json(self) -> dict[str, Any]:
        return {"type": self.kind, "pad_id": PAD_ID, "bos_id": BOS_ID, "eos_id": EOS_ID, "byte_offset": 0}

    @classmethod
    def from_json(cls, info: dict[str, Any]) -> ByteTokenizer:
        if info.get("type") != cls.kind:
            raise ValueError(f"unsupported tokenizer type {info.get('type')!r}; this image knows 'byte'")
        return cls()
