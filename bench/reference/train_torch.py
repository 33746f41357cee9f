"""The reference model of issue 3 in PyTorch, for the side-by-side ratio in `npm run bench:train`.

Same model as src/engine/testing/referenceModel.ts: item embeddings (sparse, SparseAdam) +
learned positions -> N pre-norm Transformer blocks (causal, fused QKV, ReLU FFN) -> final layer
norm -> last position; in-batch softmax against the positives; Adam on the dense weights.
Usage: train_torch.py VOCAB L STEPS WARMUP THREADS  (prints one JSON line).
"""
import json
import math
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, d, heads, ffn):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.w1 = nn.Linear(d, ffn)
        self.w2 = nn.Linear(ffn, d)

    def forward(self, x, mask):
        B, L, d = x.shape
        H, dh = self.heads, d // self.heads
        q, k, v = self.qkv(self.ln1(x)).view(B, L, 3, H, dh).permute(2, 0, 3, 1, 4)
        scores = q @ k.transpose(-1, -2) / math.sqrt(dh) + mask
        ctx = (scores.softmax(-1) @ v).transpose(1, 2).reshape(B, L, d)
        h = x + self.out(ctx)
        return h + self.w2(F.relu(self.w1(self.ln2(h))))


class Model(nn.Module):
    def __init__(self, vocab, L, d=64, layers=2, heads=2, ffn=256):
        super().__init__()
        self.items = nn.Embedding(vocab, d, sparse=True)
        nn.init.normal_(self.items.weight, std=1 / math.sqrt(d))
        self.pos = nn.Parameter(torch.randn(L, d) * 0.02)
        self.blocks = nn.ModuleList([Block(d, heads, ffn) for _ in range(layers)])
        self.ln = nn.LayerNorm(d)
        self.register_buffer("mask", torch.triu(torch.full((L, L), -1e9), diagonal=1))

    def loss(self, history, positives):
        h = self.items(history) + self.pos
        for b in self.blocks:
            h = b(h, self.mask)
        u = self.ln(h[:, -1, :])
        v = self.items(positives)
        logits = u @ v.T
        return F.cross_entropy(logits, torch.arange(len(positives)))


def main():
    vocab, L, steps, warmup, threads = (int(a) for a in sys.argv[1:6])
    torch.set_num_threads(threads)
    torch.manual_seed(42)
    B = 256
    m = Model(vocab, L)
    dense = [p for n, p in m.named_parameters() if n != "items.weight"]
    opt = torch.optim.Adam(dense, lr=1e-3)
    sopt = torch.optim.SparseAdam([m.items.weight], lr=1e-3)
    batches = [(torch.randint(vocab, (B, L)), torch.randint(vocab, (B,))) for _ in range(steps + warmup)]
    fwd = bwd = optim = 0.0
    loss = None
    t_start = None
    for i, (hist, pos) in enumerate(batches):
        if i == warmup:
            fwd = bwd = optim = 0.0
            t_start = time.perf_counter()
        t0 = time.perf_counter()
        opt.zero_grad()
        sopt.zero_grad()
        loss = m.loss(hist, pos)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        sopt.step()
        t3 = time.perf_counter()
        fwd += t1 - t0
        bwd += t2 - t1
        optim += t3 - t2
    total = time.perf_counter() - t_start
    step_ms = total / steps * 1000
    print(json.dumps({
        "engine": f"pytorch {torch.__version__} ({threads} threads)",
        "vocab": vocab, "L": L, "batch": B, "steps": steps,
        "seqPerS": B * 1000 / step_ms, "stepsPerS": 1000 / step_ms, "msPerStep": step_ms,
        "forwardMs": fwd / steps * 1000, "backwardMs": bwd / steps * 1000, "optimizerMs": optim / steps * 1000,
        "peakRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "finalLoss": float(loss),
    }))


if __name__ == "__main__":
    main()
