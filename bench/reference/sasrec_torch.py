"""Reference peer of issue 11: plain PyTorch SASRec trained with a full-softmax cross-entropy
over the whole catalogue ("SASRec+", Klenitskiy & Vasilev 2023), evaluated under ctxrec's `loo`
protocol (src/eval/loo.ts) so that the two can be compared on the same machine.

Model (Kang & McAuley 2018, the original TF code's layout): item embedding (d 64, padding id 0)
scaled by sqrt(d) + learned absolute positional embedding over the left-padded slots (max length
50), embedding dropout, zeroed padding, 2 blocks of [Q = LN(x); x = Q + MHA(Q, x, x) with a causal
mask and padded keys masked; x = LN(x); x = x + FFN(x) (Conv1d(1) d->d, dropout, ReLU, d->d,
dropout); padding zeroed], final LN. 2 heads, dropout 0.5 (embedding, attention weights, FFN).
Logits = hidden states . item embedding table^T (weight tying), over the real items 1..N-1 only.
Training: one row per user, the last 51 events of the train part (before the validation target);
every position predicts the next event (sequence-to-sequence), padding positions masked out.
Adam lr 1e-3, betas (0.9, 0.98) as in SASRec's code; batch 128; a random permutation of the rows
per epoch. Validation NDCG@10 after every epoch, early stopping (patience 10), best weights kept.

Protocol (mirrors ctxrec exactly, see the comments in `loo_targets` and `rank_batch`):
  * split: leaveOneOut (src/data/splits.ts): users with >= 3 events have the last event as test
    target and the second-to-last as validation target; shorter users keep all events in train
    and are not evaluated.
  * model input for a target: the last 50 events strictly before it.
  * filtering: EVERY item of the user's full history before the target (not only the last 50 that
    the model reads: ctxrec's HistoryBatch holds the whole history) is removed from the
    candidates, EXCEPT the target itself, which always stays a candidate. Padding (id 0) is never
    a candidate.
  * rank: conservative, every other candidate with an equal score counts ahead of the target.
  * metrics: HIT@5/10/20, NDCG@5/10/20 (1/log2(r+2)), MRR (1/(r+1), no cut-off).

Readers mirror ctxrec's: `s3rec` (one user per line, `user item item ...`, in time order, the k-th
event gets timestamp k; a line with < 2 fields or a repeated user is an error; the catalogue is
the items that occur) and `movielens-100k` (catalogue = every u.item row; u.data events, rating
validated 1..5 but unused, each user's events sorted by (timestamp, file line); exact duplicates
(same user, item, timestamp) dropped after the first copy, as src/data/compile.ts does).

Usage:
  /usr/bin/python3 bench/reference/sasrec_torch.py --format s3rec --path .../Beauty.txt \
      [--threads 1] [--seed 1] [--max-minutes 30] [--epochs 200] [--patience 10]
Progress goes to stderr (one line per epoch); one JSON line goes to stdout at the end.
"""
import argparse
import copy
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

KS = (5, 10, 20)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- data


class Dataset:
    """CSR sequences by user code (1..U-1, code 0 unused), item codes 1..N-1 (0 = padding)."""

    def __init__(self, name, sequences, num_items, user_ids, item_ids):
        self.name = name
        self.sequences = sequences  # list of np.int64 arrays, time order, one per user
        self.num_items = num_items  # N = real items + padding
        self.user_ids = user_ids  # [U] the file's user id of each sequence
        self.item_ids = item_ids  # [N] the file's item id of each code ("" for padding)


def read_s3rec(path):
    item_code = {}
    seen_users = {}
    sequences = []
    with open(path, encoding="utf-8") as fh:
        for line_no, text in enumerate(fh, start=1):
            if text.strip() == "":
                continue
            f = text.split()
            if len(f) < 2:
                raise SystemExit(f"{path}:{line_no}: expected 'user item [item ...]', got {len(f)} fields")
            if f[0] in seen_users:
                raise SystemExit(f"{path}:{line_no}: user {f[0]} already has a sequence at line {seen_users[f[0]]}")
            seen_users[f[0]] = line_no
            seq = []
            for it in f[1:]:
                c = item_code.get(it)
                if c is None:
                    c = item_code[it] = len(item_code) + 1
                seq.append(c)
            # Timestamps are 0, 1, 2, ... (distinct), so compile.ts's duplicate rule never applies.
            sequences.append(np.asarray(seq, dtype=np.int64))
    return Dataset(
        "s3rec:" + os.path.basename(path), sequences, len(item_code) + 1, list(seen_users), [""] + list(item_code)
    )


def read_movielens_100k(folder):
    item_code = {}
    with open(os.path.join(folder, "u.item"), encoding="latin-1") as fh:
        for line_no, text in enumerate(fh, start=1):
            if text.strip() == "":
                continue
            f = text.rstrip("\n").split("|")
            if len(f) != 24:
                raise SystemExit(f"u.item:{line_no}: expected 24 fields, got {len(f)}")
            if f[0] in item_code:
                raise SystemExit(f"u.item:{line_no}: duplicate item id {f[0]}")
            item_code[f[0]] = len(item_code) + 1
    events = {}  # user id -> list of (timestamp, file index, item code)
    with open(os.path.join(folder, "u.data"), encoding="utf-8") as fh:
        for idx, text in enumerate(fh):
            if text.strip() == "":
                continue
            f = text.rstrip("\n").split("\t")
            if len(f) != 4:
                raise SystemExit(f"u.data:{idx + 1}: expected 4 tab-separated fields, got {len(f)}")
            user, item, rating, ts = f
            if not (rating.isdigit() and 1 <= int(rating) <= 5):
                raise SystemExit(f"u.data:{idx + 1}: bad rating {rating!r}")
            if item not in item_code:
                # ctxrec's catalogue is closed after u.item: an unknown item is an error there too.
                raise SystemExit(f"u.data:{idx + 1}: item {item} is not in u.item")
            events.setdefault(user, []).append((int(ts), idx, item_code[item]))
    sequences = []
    duplicates = 0
    for user in events:  # user codes in order of first appearance; irrelevant to the metrics
        ev = sorted(events[user])  # (timestamp, file index): ties keep file order
        seq = []
        run_ts = None
        run_items = set()
        for ts, _, item in ev:
            if ts != run_ts:
                run_ts, run_items = ts, set()
            if item in run_items:
                duplicates += 1  # exact duplicate (same user, item, timestamp): dropped as compile.ts does
                continue
            run_items.add(item)
            seq.append(item)
        sequences.append(np.asarray(seq, dtype=np.int64))
    if duplicates:
        log(f"movielens-100k: dropped {duplicates} exact duplicate events")
    name = "movielens-100k:" + os.path.basename(folder.rstrip("/"))
    return Dataset(name, sequences, len(item_code) + 1, list(events), [""] + list(item_code))


def loo_targets(ds, target):
    """(user index, cut) per evaluated user: users with >= 3 events (leaveOneOut); the cut is the
    position of the target (test: last event, validation: second-to-last); history = seq[:cut]."""
    out = []
    for u, seq in enumerate(ds.sequences):
        n = len(seq)
        if n < 3:
            continue
        out.append((u, n - 1 if target == "test" else n - 2))
    return out


def training_rows(ds, max_len):
    """One row per user with >= 2 train events: the last max_len + 1 events before the
    validation target (users with < 3 events: all their events), as src/train/examples.ts."""
    rows = []
    for seq in ds.sequences:
        end = len(seq) - 2 if len(seq) >= 3 else len(seq)
        if end < 2:
            continue
        rows.append(seq[max(0, end - (max_len + 1)) : end])
    return rows


def left_pad(seqs, width):
    out = np.zeros((len(seqs), width), dtype=np.int64)
    for r, s in enumerate(seqs):
        if len(s):
            out[r, width - len(s) :] = s
    return out


# ----------------------------------------------------------------------------- model


class PointWiseFFN(nn.Module):
    def __init__(self, d, dropout):
        super().__init__()
        self.conv1 = nn.Conv1d(d, d, kernel_size=1)
        self.drop1 = nn.Dropout(dropout)
        self.conv2 = nn.Conv1d(d, d, kernel_size=1)
        self.drop2 = nn.Dropout(dropout)

    def forward(self, x):  # [B, L, d]
        h = self.drop2(self.conv2(F.relu(self.drop1(self.conv1(x.transpose(-1, -2))))))
        return h.transpose(-1, -2) + x


class SASRec(nn.Module):
    def __init__(self, num_items, max_len=50, d=64, blocks=2, heads=2, dropout=0.5):
        super().__init__()
        self.max_len = max_len
        self.item_emb = nn.Embedding(num_items, d, padding_idx=0)
        self.pos_emb = nn.Embedding(max_len, d)
        self.emb_dropout = nn.Dropout(dropout)
        self.attn_ln = nn.ModuleList([nn.LayerNorm(d, eps=1e-8) for _ in range(blocks)])
        self.attn = nn.ModuleList(
            [nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True) for _ in range(blocks)]
        )
        self.ffn_ln = nn.ModuleList([nn.LayerNorm(d, eps=1e-8) for _ in range(blocks)])
        self.ffn = nn.ModuleList([PointWiseFFN(d, dropout) for _ in range(blocks)])
        self.last_ln = nn.LayerNorm(d, eps=1e-8)
        for name, p in self.named_parameters():  # as the PyTorch port of SASRec: Xavier normal
            if p.dim() > 1:
                nn.init.xavier_normal_(p)
        with torch.no_grad():
            self.item_emb.weight[0].zero_()

    def forward(self, seqs):
        """seqs [B, Lb] left-padded item codes (Lb <= max_len) -> hidden states [B, Lb, d]."""
        B, Lb = seqs.shape
        pad = seqs == 0
        # Absolute slot positions of the max_len-wide left-padded layout: the newest event is always
        # at position max_len - 1, so trimming a batch's all-padding columns changes nothing.
        pos = torch.arange(self.max_len - Lb, self.max_len, device=seqs.device)
        x = self.item_emb(seqs) * math.sqrt(self.item_emb.embedding_dim) + self.pos_emb(pos)[None]
        x = self.emb_dropout(x)
        keep = (~pad).unsqueeze(-1).to(x.dtype)
        x = x * keep
        # Causal mask and padded keys masked (the original's key masking); every query may see
        # itself, so a padding row is never all-masked (its output is zeroed anyway).
        causal = torch.ones(Lb, Lb, dtype=torch.bool, device=seqs.device).triu(1)
        mask = causal[None] | pad[:, None, :]
        mask = mask & ~torch.eye(Lb, dtype=torch.bool, device=seqs.device)[None]
        heads = self.attn[0].num_heads
        mask = mask.repeat_interleave(heads, dim=0)  # [B * heads, Lb, Lb]
        for ln1, attn, ln2, ffn in zip(self.attn_ln, self.attn, self.ffn_ln, self.ffn):
            q = ln1(x)
            a, _ = attn(q, x, x, attn_mask=mask, need_weights=False)
            x = q + a
            x = ffn(ln2(x))
            x = x * keep
        return self.last_ln(x)


# ----------------------------------------------------------------------------- evaluation


@torch.no_grad()
def rank_batch(model, ds, batch):
    """0-based conservative filtered ranks of the targets of `batch` [(user, cut)]."""
    L = model.max_len
    hists = [ds.sequences[u][:c] for u, c in batch]
    inputs = [h[-L:] for h in hists]  # the model reads the last L events
    width = max(1, max(len(s) for s in inputs))
    x = torch.from_numpy(left_pad(inputs, width))
    h = model(x)[:, -1, :]  # the newest slot (an empty history would read padding only)
    scores = h @ model.item_emb.weight.T  # [B, N]
    scores[:, 0] = -math.inf  # padding is never a candidate
    targets = torch.tensor([int(ds.sequences[u][c]) for u, c in batch])
    rows, cols = [], []
    for b, hist in enumerate(hists):
        # The user's WHOLE history before the target is removed (ctxrec's HistoryBatch holds all of
        # it), except the target itself, which always stays a candidate.
        ex = np.unique(hist)
        ex = ex[ex != int(targets[b])]
        rows.append(np.full(len(ex), b, dtype=np.int64))
        cols.append(ex)
    t = scores.gather(1, targets[:, None])  # [B, 1], taken before the exclusion
    if torch.isnan(scores[:, 1:]).any():
        raise SystemExit("NaN scores")
    scores[torch.from_numpy(np.concatenate(rows)), torch.from_numpy(np.concatenate(cols))] = -math.inf
    greater = (scores > t).sum(1)
    ties = (scores == t).sum(1) - 1  # the target ties with itself
    in_history = sum(int(targets[b]) in set(hists[b].tolist()) for b in range(len(batch)))
    return (greater + ties).numpy(), in_history


def evaluate(model, ds, targets, batch_size=256):
    model.eval()
    ranks = []
    in_history = 0
    for i in range(0, len(targets), batch_size):
        r, n = rank_batch(model, ds, targets[i : i + batch_size])
        ranks.append(r)
        in_history += n
    model.train()
    return np.concatenate(ranks).astype(np.float64), in_history


def summarize(ranks):
    out = {}
    for k in KS:
        hit = ranks < k
        out[f"hit@{k}"] = float(hit.mean())
        out[f"ndcg@{k}"] = float(np.where(hit, 1.0 / np.log2(ranks + 2), 0.0).mean())
    out["mrr"] = float((1.0 / (ranks + 1)).mean())
    return out


# ----------------------------------------------------------------------------- training


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--format", required=True, choices=["s3rec", "movielens-100k"])
    ap.add_argument("--path", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-minutes", type=float, default=30.0)
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--patience", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--max-len", type=int, default=50)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--blocks", type=int, default=2)
    ap.add_argument("--heads", type=int, default=2)
    ap.add_argument("--dropout", type=float, default=0.5)
    args = ap.parse_args()

    load_start = os.getloadavg()[0]
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    ds = read_s3rec(args.path) if args.format == "s3rec" else read_movielens_100k(args.path)
    rows = training_rows(ds, args.max_len)
    valid = loo_targets(ds, "validation")
    test = loo_targets(ds, "test")
    events = sum(len(s) for s in ds.sequences)
    log(
        f"{ds.name}: {len(ds.sequences)} users, {ds.num_items - 1} items, {events} events; "
        f"{len(rows)} training rows, {sum(len(r) - 1 for r in rows)} positives, {len(test)} evaluated users"
    )

    model = SASRec(ds.num_items, args.max_len, args.dim, args.blocks, args.heads, args.dropout)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.98))
    model.train()

    t0 = time.perf_counter()
    budget = args.max_minutes * 60
    best = (-1.0, 0, None)  # (valid NDCG@10, epoch, state)
    epochs = 0
    stop = "max-epochs"
    for epoch in range(1, args.epochs + 1):
        order = rng.permutation(len(rows))
        total, count = 0.0, 0
        out_of_time = False
        for i in range(0, len(order), args.batch_size):
            batch = [rows[j] for j in order[i : i + args.batch_size]]
            width = max(len(r) for r in batch) - 1
            inp = torch.from_numpy(left_pad([r[:-1] for r in batch], width))
            tgt = torch.from_numpy(left_pad([r[1:] for r in batch], width))
            h = model(inp)
            real = tgt > 0  # padding positions carry no loss
            logits = h[real] @ model.item_emb.weight[1:].T  # [P, N-1]: every real item, not the padding
            loss = F.cross_entropy(logits, tgt[real] - 1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss) * int(real.sum())
            count += int(real.sum())
            if time.perf_counter() - t0 > budget:
                out_of_time = True
                break
        epochs = epoch
        v = summarize(evaluate(model, ds, valid)[0])["ndcg@10"]
        improved = v > best[0]
        if improved:
            best = (v, epoch, copy.deepcopy(model.state_dict()))
        elapsed = time.perf_counter() - t0
        log(
            f"epoch {epoch}: loss {total / max(1, count):.4f}, valid NDCG@10 {v:.4f}"
            f"{' *' if improved else ''}, {elapsed / 60:.2f} min"
        )
        if out_of_time or elapsed > budget:
            stop = "time-budget"
            break
        if epoch - best[1] >= args.patience:
            stop = "early-stopping"
            break
    train_minutes = (time.perf_counter() - t0) / 60

    model.load_state_dict(best[2])
    ranks, in_history = evaluate(model, ds, test)
    metrics = summarize(ranks)
    log(f"test: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
    result = {
        "dataset": ds.name,
        "metrics": metrics,
        "validNdcg10": best[0],
        "epochs": epochs,
        "bestEpoch": best[1],
        "stopReason": stop,
        "trainMinutes": train_minutes,
        "threads": args.threads,
        "seed": args.seed,
        "torch": torch.__version__,
        "loadAvgStart": load_start,
        "loadAvgEnd": os.getloadavg()[0],
        "users": len(test),
        "items": ds.num_items - 1,
        "targetsInHistory": in_history,
        "config": {
            "maxLen": args.max_len,
            "dim": args.dim,
            "blocks": args.blocks,
            "heads": args.heads,
            "dropout": args.dropout,
            "batchSize": args.batch_size,
            "lr": args.lr,
            "adamBetas": [0.9, 0.98],
            "patience": args.patience,
            "maxEpochs": args.epochs,
            "maxMinutes": args.max_minutes,
            "loss": "full-softmax CE over all items, every position",
        },
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
