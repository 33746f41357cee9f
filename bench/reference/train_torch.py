"""The bench:train model and loss in PyTorch, for the side-by-side rows of `npm run bench:train`.

Same shape as bench/trainRun.ts trains through ctxrec's stepper (the non-contextual baseline
without item categories): item embeddings x sqrt(d) + learned positions -> dropout -> N pre-norm
causal blocks (fused QKV, dropout on attention weights and on each branch's output, ReLU FFN) ->
final layer norm -> residual MLP head (d -> 128 -> d); EVERY position is a target (SASRec
sequence-to-sequence), B*L examples a step.
Loss "full": cross-entropy over the whole catalogue, logits [B*L, N]; the table gets a dense
gradient, so plain Adam on every weight (ctxrec: lazy Adam over all N rows, the same update).
Loss "sampled": 2048 of the batch's positives as in-batch negatives + 1024 uniform ones, logQ-
corrected, accidental hits masked; sparse table on SparseAdam, Adam on the rest.
Random sequences (timing only). Usage: train_torch.py LOSS ITEMS L STEPS WARMUP THREADS
(prints one JSON line with the wall time of every timed step).
"""
import json
import math
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

B, D, BLOCKS, HEADS, FFN, HIDDEN, DROPOUT = 256, 64, 2, 2, 256, 128, 0.5
IN_BATCH, UNIFORM = 2048, 1024


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1 = nn.LayerNorm(D)
        self.qkv = nn.Linear(D, 3 * D)
        self.out = nn.Linear(D, D)
        self.ln2 = nn.LayerNorm(D)
        self.w1 = nn.Linear(D, FFN)
        self.w2 = nn.Linear(FFN, D)

    def forward(self, x, mask):
        b, L, d = x.shape
        dh = d // HEADS
        q, k, v = self.qkv(self.ln1(x)).view(b, L, 3, HEADS, dh).permute(2, 0, 3, 1, 4)
        att = F.dropout((q @ k.transpose(-1, -2) / math.sqrt(dh) + mask).softmax(-1), DROPOUT, self.training)
        ctx = (att @ v).transpose(1, 2).reshape(b, L, d)
        h = x + F.dropout(self.out(ctx), DROPOUT, self.training)
        return h + F.dropout(self.w2(F.relu(self.w1(self.ln2(h)))), DROPOUT, self.training)


class Model(nn.Module):
    def __init__(self, items, L, sparse):
        super().__init__()
        self.items = nn.Embedding(items, D, sparse=sparse)
        nn.init.normal_(self.items.weight, std=1 / math.sqrt(D))
        self.pos = nn.Parameter(torch.randn(L, D) * 0.02)
        self.blocks = nn.ModuleList([Block() for _ in range(BLOCKS)])
        self.ln = nn.LayerNorm(D)
        self.h1 = nn.Linear(D, HIDDEN)
        self.h2 = nn.Linear(HIDDEN, D)
        self.register_buffer("mask", torch.triu(torch.full((L, L), -1e9), diagonal=1))

    def users(self, history):
        h = F.dropout(self.items(history) * math.sqrt(D) + self.pos, DROPOUT, self.training)
        for b in self.blocks:
            h = b(h, self.mask)
        h = self.ln(h).reshape(-1, D)
        return h + self.h2(F.relu(self.h1(h)))

    def full_loss(self, history, positives):
        return F.cross_entropy(self.users(history) @ self.items.weight.T, positives.reshape(-1))

    def sampled_loss(self, history, positives):
        n = self.items.num_embeddings
        u = self.users(history)
        pos = positives.reshape(-1)
        neg_ids = torch.cat([pos[torch.randperm(len(pos))[:IN_BATCH]], torch.randint(1, n, (UNIFORM,))])
        # Expected counts: in-batch by the positives' frequency in the batch, uniform M/N.
        freq = torch.bincount(pos, minlength=n).float() / len(pos)
        count = lambda ids: IN_BATCH * freq[ids] + UNIFORM / n  # noqa: E731
        pos_logit = (u * self.items(pos)).sum(1) - count(pos).clamp_min(1e-9).log()
        neg = u @ self.items(neg_ids).T - count(neg_ids).clamp_min(1e-9).log()
        neg = neg.masked_fill(pos[:, None] == neg_ids[None, :], -1e9)
        return -torch.cat([pos_logit[:, None], neg], 1).log_softmax(1)[:, 0].mean()


def main():
    loss_name, items, L, steps, warmup, threads = sys.argv[1], *(int(a) for a in sys.argv[2:7])
    torch.set_num_threads(threads)
    torch.manual_seed(42)
    sparse = loss_name == "sampled"
    m = Model(items, L, sparse)
    m.train()
    if sparse:
        opts = [torch.optim.Adam([p for n, p in m.named_parameters() if n != "items.weight"], lr=2e-3),
                torch.optim.SparseAdam([m.items.weight], lr=2e-3)]
    else:
        opts = [torch.optim.Adam(m.parameters(), lr=2e-3)]
    loss_of = m.sampled_loss if sparse else m.full_loss
    step_ms = []
    loss = None
    cpu0 = None
    for i in range(warmup + steps):
        hist = torch.randint(1, items, (B, L))
        pos = torch.randint(1, items, (B, L))
        if i == warmup:
            cpu0 = time.process_time()
        t0 = time.perf_counter()
        for o in opts:
            o.zero_grad()
        loss = loss_of(hist, pos)
        loss.backward()
        for o in opts:
            o.step()
        if i >= warmup:
            step_ms.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({
        "engine": f"pytorch {torch.__version__}",
        "loss": loss_name, "items": items, "threads": threads, "batch": B, "L": L,
        "examplesPerStep": B * L, "stepMs": step_ms,
        "cpuMsPerStep": (time.process_time() - cpu0) * 1000 / steps,
        "peakRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "finalLoss": float(loss),
    }))


if __name__ == "__main__":
    main()
