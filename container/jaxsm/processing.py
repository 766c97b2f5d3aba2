"""`prepare`: the example Processing job that builds the training channels from raw text.

Input:  /opt/ml/processing/input/raw/**  (any UTF-8 text files)      --source raw (default)
        the Python reference manual's help topics from the standard     --source builtin
        library (`pydoc_data.topics`, ~460 KB of English prose that ships with every CPython,
        including Debian's libpython3-stdlib; no internet needed)
Output: /opt/ml/processing/output/train/corpus.txt
        /opt/ml/processing/output/val/corpus.txt
        (the trainer's `train` and `val` channels read these files as they are)

Paths: when /opt/ml/config/processingjobconfig.json names an input `raw` or an output `train`,
their LocalPath values are the defaults instead.

Split: every document keeps its first (1 - val_fraction) of lines for train and the rest for
val, so both splits cover every document's style and the split is deterministic.
Failure: a one-line reason goes to /opt/ml/output/message (the job's ExitMessage), exit 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import UserError, write_failure
from .paths import SageMakerPaths


def builtin_documents() -> list[tuple[str, str]]:
    from pydoc_data.topics import topics

    return [(name, topics[name]) for name in sorted(topics)]


def raw_documents(root: Path) -> list[tuple[str, str]]:
    if not root.is_dir():
        raise UserError(f"missing processing input 'raw': expected a directory at {root}")
    docs = []
    for f in sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")):
        docs.append((str(f.relative_to(root)), f.read_bytes().decode("utf-8", errors="replace")))
    if not docs:
        raise UserError(f"processing input 'raw' at {root} contains no files")
    return docs


def split_document(text: str, val_fraction: float) -> tuple[str, str]:
    text = text.replace("\x00", "").replace("\r\n", "\n")
    lines = text.splitlines(keepends=True)
    if len(lines) < 2:
        cut = int(len(text) * (1 - val_fraction))
        return text[:cut], text[cut:]
    cut = min(len(lines) - 1, max(1, round(len(lines) * (1 - val_fraction))))
    return "".join(lines[:cut]), "".join(lines[cut:])


def prepare(docs: list[tuple[str, str]], out: Path, val_fraction: float, max_bytes: int | None) -> dict:
    train_parts, val_parts = [], []
    total = 0
    for _, text in docs:
        if max_bytes is not None and total >= max_bytes:
            break
        if max_bytes is not None:
            text = text[: max_bytes - total]
        total += len(text)
        tr, va = split_document(text, val_fraction)
        train_parts.append(tr)
        val_parts.append(va)
    train_text, val_text = "\n".join(train_parts), "\n".join(val_parts)
    if not train_text.strip() or not val_text.strip():
        raise UserError("prepared text is empty; give more input or a larger --max-bytes")
    for name, text in (("train", train_text), ("val", val_text)):
        d = out / name
        d.mkdir(parents=True, exist_ok=True)
        (d / "corpus.txt").write_text(text, encoding="utf-8")
    return {
        "documents": len(train_parts),
        "train_bytes": len(train_text.encode()),
        "val_bytes": len(val_text.encode()),
        "output": str(out),
    }


def job_local_paths(config_path: Path) -> tuple[Path | None, Path | None]:
    """(raw input dir, output root) from processingjobconfig.json when the job names them.

    The input named `raw` gives the input directory; the output named `train` gives the output
    root as its parent (outputs `train` and `val` are expected to be siblings, as by default).
    """
    try:
        cfg = json.loads(config_path.read_text())
    except (OSError, ValueError):
        return None, None
    raw = out = None
    for item in cfg.get("ProcessingInputs", []) or []:
        if item.get("InputName") == "raw":
            local = (item.get("S3Input") or {}).get("LocalPath")
            raw = Path(local) if local else None
    for item in (cfg.get("ProcessingOutputConfig") or {}).get("Outputs", []) or []:
        if item.get("OutputName") == "train":
            local = (item.get("S3Output") or {}).get("LocalPath")
            out = Path(local).parent if local else None
    return raw, out


def main(argv: list[str] | None = None) -> None:
    paths = SageMakerPaths.from_env()
    job_raw, job_out = job_local_paths(paths.processing_config)
    ap = argparse.ArgumentParser(
        prog="prepare", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--source", choices=("raw", "builtin"), default="raw")
    ap.add_argument("--input", type=Path, default=job_raw or paths.processing_input / "raw", help="raw text directory")
    ap.add_argument(
        "--output", type=Path, default=job_out or paths.processing_output, help="writes <output>/train and <output>/val"
    )
    ap.add_argument("--val-fraction", type=float, default=0.1)
    ap.add_argument("--max-bytes", type=int, default=None, help="cap the characters used (quick runs)")
    args = ap.parse_args(argv)
    try:
        if not 0.0 < args.val_fraction < 1.0:
            raise UserError(f"--val-fraction must be in (0, 1), got {args.val_fraction}")
        docs = builtin_documents() if args.source == "builtin" else raw_documents(args.input)
        summary = prepare(docs, args.output, args.val_fraction, args.max_bytes)
    except UserError as e:
        write_failure(paths.output_message, str(e))
        print(f"ERROR: {e}", file=sys.stderr, flush=True)
        sys.exit(1)
    print("prepare: " + json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
