"""`prepare`: the example Processing job that builds the training channels and the evaluation set from raw text.

Input:  /opt/ml/processing/input/raw/**  (any UTF-8 text files)      --source raw (default)
        the Python reference manual's help topics from the standard     --source builtin
        library (`pydoc_data.topics`, ~460 KB of English prose that ships with every CPython,
        including Debian's libpython3-stdlib; no internet needed)
Output: /opt/ml/processing/output/train/corpus.txt
        /opt/ml/processing/output/val/corpus.txt
        (the trainer's `train` and `val` channels read these files as they are)
        /opt/ml/processing/output/eval/records.jsonl
        (scoring records, one `{"score": "<text>"}` per line, each at most 1,000 characters: the
        held-out set a Batch Transform job scores; the serving stack answers `{"nll", "tokens"}`)

Paths: when /opt/ml/config/processingjobconfig.json names an input `raw` or outputs `train`, `val`
or `eval`, their LocalPath values are the defaults instead (an output the job does not name goes
beside `train`).

Split: every document keeps its last --eval-fraction of lines (default 0.05) for eval, and of the
rest its first (1 - --val-fraction) for train and the remainder for val, so no eval text is in
train or val, every split covers every document's style, and the split is deterministic.
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


# The longest scoring record: one Batch Transform record stays small (SplitType Line, MaxPayloadInMB).
MAX_RECORD_CHARS = 1000
OUTPUTS = ("train", "val", "eval")


def split_document(text: str, val_fraction: float, eval_fraction: float = 0.0) -> tuple[str, str, str]:
    """(train, val, eval) of one document: eval is its last lines, val the lines before them."""
    text = text.replace("\x00", "").replace("\r\n", "\n")
    lines = text.splitlines(keepends=True)
    held: list[str] = []
    if eval_fraction > 0 and len(lines) >= 3:
        n_eval = min(len(lines) - 2, max(1, round(len(lines) * eval_fraction)))
        lines, held = lines[:-n_eval], lines[-n_eval:]
    if len(lines) < 2:
        body = "".join(lines)
        cut = int(len(body) * (1 - val_fraction))
        return body[:cut], body[cut:], "".join(held)
    cut = min(len(lines) - 1, max(1, round(len(lines) * (1 - val_fraction))))
    return "".join(lines[:cut]), "".join(lines[cut:]), "".join(held)


def scoring_records(text: str, max_chars: int = MAX_RECORD_CHARS) -> list[str]:
    """Held-out text as records of whole lines, each at most `max_chars` (a longer line is cut in pieces)."""
    records: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line) > max_chars:
            if current.strip():
                records.append(current)
            current = ""
            records.append(line[:max_chars])
            line = line[max_chars:]
        if len(current) + len(line) > max_chars:
            if current.strip():
                records.append(current)
            current = ""
        current += line
    if current.strip():
        records.append(current)
    return [r for r in records if r.strip()]


def prepare(
    docs: list[tuple[str, str]],
    out: Path | dict[str, Path],
    val_fraction: float,
    max_bytes: int | None,
    eval_fraction: float = 0.05,
) -> dict:
    """Writes train/corpus.txt, val/corpus.txt and eval/records.jsonl; `out` is their parent or a dir per output."""
    dirs = out if isinstance(out, dict) else {name: out / name for name in OUTPUTS}
    train_parts, val_parts, records = [], [], []
    total = 0
    for _, text in docs:
        if max_bytes is not None and total >= max_bytes:
            break
        if max_bytes is not None:
            text = text[: max_bytes - total]
        total += len(text)
        tr, va, ev = split_document(text, val_fraction, eval_fraction)
        train_parts.append(tr)
        val_parts.append(va)
        records.extend(scoring_records(ev))
    train_text, val_text = "\n".join(train_parts), "\n".join(val_parts)
    if not train_text.strip() or not val_text.strip():
        raise UserError("prepared text is empty; give more input or a larger --max-bytes")
    if not records:
        raise UserError(
            "no evaluation records: every document is shorter than 3 lines; give more input or a larger --eval-fraction"
        )
    for name, text in (("train", train_text), ("val", val_text)):
        dirs[name].mkdir(parents=True, exist_ok=True)
        (dirs[name] / "corpus.txt").write_text(text, encoding="utf-8")
    dirs["eval"].mkdir(parents=True, exist_ok=True)
    with (dirs["eval"] / "records.jsonl").open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps({"score": r}, ensure_ascii=False) + "\n")
    return {
        "documents": len(train_parts),
        "train_bytes": len(train_text.encode()),
        "val_bytes": len(val_text.encode()),
        "eval_records": len(records),
        "output": {name: str(d) for name, d in dirs.items()},
    }


def container_path(local: str, base: Path) -> Path:
    """A LocalPath under /opt/ml, moved to SAGEMAKER_BASE_DIR when the host's /opt/ml lives elsewhere."""
    p = Path(local)
    if base != Path("/opt/ml") and p.is_relative_to("/opt/ml"):
        return base / p.relative_to("/opt/ml")
    return p


def job_local_paths(config_path: Path, base: Path | None = None) -> tuple[Path | None, dict[str, Path]]:
    """(raw input dir, {output name: dir}) from processingjobconfig.json, for what the job names.

    The input named `raw` gives the input directory; the outputs named `train`, `val` and `eval`
    give their directories.
    """
    base = base or Path("/opt/ml")
    try:
        cfg = json.loads(config_path.read_text())
    except (OSError, ValueError):
        return None, {}
    raw = None
    outs: dict[str, Path] = {}
    for item in cfg.get("ProcessingInputs", []) or []:
        local = (item.get("S3Input") or {}).get("LocalPath")
        if item.get("InputName") == "raw" and local:
            raw = container_path(local, base)
    for item in (cfg.get("ProcessingOutputConfig") or {}).get("Outputs", []) or []:
        local = (item.get("S3Output") or {}).get("LocalPath")
        if item.get("OutputName") in OUTPUTS and local:
            outs[item["OutputName"]] = container_path(local, base)
    return raw, outs


def output_dirs(explicit: Path | None, job: dict[str, Path], default_root: Path) -> dict[str, Path]:
    """Where each output goes: under --output when given, else the job's LocalPaths, else beside `train`."""
    if explicit is not None:
        return {name: explicit / name for name in OUTPUTS}
    root = job["train"].parent if "train" in job else default_root
    return {name: job.get(name, root / name) for name in OUTPUTS}


def main(argv: list[str] | None = None) -> None:
    paths = SageMakerPaths.from_env()
    job_raw, job_outs = job_local_paths(paths.processing_config, paths.base)
    ap = argparse.ArgumentParser(
        prog="prepare", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--source", choices=("raw", "builtin"), default="raw")
    ap.add_argument("--input", type=Path, default=job_raw or paths.processing_input / "raw", help="raw text directory")
    ap.add_argument("--output", type=Path, default=None, help="writes <output>/train, <output>/val and <output>/eval")
    ap.add_argument("--val-fraction", type=float, default=0.1)
    ap.add_argument(
        "--eval-fraction", type=float, default=0.05, help="share of each document's lines held out as scoring records"
    )
    ap.add_argument("--max-bytes", type=int, default=None, help="cap the characters used (quick runs)")
    args = ap.parse_args(argv)
    try:
        if not 0.0 < args.val_fraction < 1.0:
            raise UserError(f"--val-fraction must be in (0, 1), got {args.val_fraction}")
        if not 0.0 < args.eval_fraction < 1.0 or args.val_fraction + args.eval_fraction >= 1.0:
            raise UserError(
                f"--eval-fraction must be in (0, 1) and leave room for train beside --val-fraction, "
                f"got {args.eval_fraction} with --val-fraction {args.val_fraction}"
            )
        docs = builtin_documents() if args.source == "builtin" else raw_documents(args.input)
        dirs = output_dirs(args.output, job_outs, paths.processing_output)
        summary = prepare(docs, dirs, args.val_fraction, args.max_bytes, args.eval_fraction)
    except UserError as e:
        write_failure(paths.output_message, str(e))
        print(f"ERROR: {e}", file=sys.stderr, flush=True)
        sys.exit(1)
    print("prepare: " + json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
