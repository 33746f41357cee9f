"""PyTorch reference for bench/encode.ts: the ctxrec sequence encoder at inference, same architecture.

Item table gather (the item tower's output, baked as in the ONNX graph) * sqrt(d) + event-type and
time-gap embeddings, masked, + learned positions, masked; N pre-norm causal Transformer blocks
(fused QKV projection, H heads, ReLU feed-forward); final LayerNorm; the state at each row's last
real position. Random weights (speed only). Two modes:
  full  every block over every position (the plain implementation);
  last  the last block for the returned position only (what the ctxrec ONNX graph does).

Usage: python3 encode_torch.py --batch 512 --len 50 --dim 64 --blocks 2 --heads 2 --ffn 256 \
         --items 10000 --threads 2 --seconds 5 --mode full
Prints one JSON line: {"mode", "threads", "usersPerSecond", "msPerBatch", "batches", "torch"}.
"""

import argparse
import json
import math
import time

import torch
import torch.nn.functional as F


def parse():
    p = argparse.ArgumentParser()
    for name, default in [("batch", 512), ("len", 50), ("dim", 64), ("blocks", 2), ("heads", 2),
                          ("ffn", 256), ("items", 10000), ("threads", 2)]:
        p.add_argument(f"--{name}", type=int, default=default)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--mode", choices=["full", "last"], default="full")
    p.add_argument("--seed", type=int, default=1)
    return p.parse_args()


class Encoder(torch.nn.Module):
    def __init__(self, a):
        super().__init__()
        d, self.h, self.d = a.dim, a.heads, a.dim
        self.items = torch.nn.Parameter(torch.randn(a.items, d) * 0.1)
        self.types = torch.nn.Parameter(torch.randn(4, d) * 0.02)
        self.gaps = torch.nn.Parameter(torch.randn(32, d) * 0.02)
        self.pos = torch.nn.Parameter(torch.randn(a.len, d) * 0.02)
        self.blocks = torch.nn.ModuleList()
        for _ in range(a.blocks):
            b = torch.nn.Module()
            b.ln1 = torch.nn.LayerNorm(d)
            b.qkv = torch.nn.Linear(d, 3 * d)
            b.out = torch.nn.Linear(d, d)
            b.ln2 = torch.nn.LayerNorm(d)
            b.w1 = torch.nn.Linear(d, a.ffn)
            b.w2 = torch.nn.Linear(a.ffn, d)
            self.blocks.append(b)
        self.ln = torch.nn.LayerNorm(d)
        causal = torch.full((a.len, a.len), -1e9).triu(1)
        self.register_buffer("causal", causal)

    def heads(self, x):  # [B, L, 3d] -> 3 x [B, H, L, dh]
        B, L, _ = x.shape
        t = x.view(B, L, 3, self.h, self.d // self.h).permute(2, 0, 3, 1, 4)
        return t[0], t[1], t[2]

    def forward(self, items, types, gaps, lengths, last_only):
        B, L = items.shape
        d, dh = self.d, self.d // self.h
        mask = (torch.arange(L).unsqueeze(0) < lengths.unsqueeze(1)).unsqueeze(2).float()
        x = (self.items[items] * math.sqrt(d) + self.types[types] + self.gaps[gaps]) * mask
        h = (x + self.pos[:L]) * mask
        last = (lengths - 1).clamp(min=0)
        rows = torch.arange(B)
        m = self.causal[:L, :L]
        for i, b in enumerate(self.blocks):
            qkv = b.qkv(b.ln1(h))
            q, k, v = self.heads(qkv)
            if last_only and i == len(self.blocks) - 1:
                ql = q[rows, :, last].unsqueeze(2)  # [B, H, 1, dh]
                s = ql @ k.transpose(-1, -2) / math.sqrt(dh) + m[last].view(B, 1, 1, L)
                ctx = (F.softmax(s, -1) @ v).reshape(B, d)
                y = h[rows, last] + b.out(ctx)
                h = y + b.w2(F.relu(b.w1(b.ln2(y))))
                return self.ln(h)
            s = q @ k.transpose(-1, -2) / math.sqrt(dh) + m
            ctx = (F.softmax(s, -1) @ v).transpose(1, 2).reshape(B, L, d)
            h = h + b.out(ctx)
            h = h + b.w2(F.relu(b.w1(b.ln2(h))))
        return self.ln(h[rows, last])


def main():
    a = parse()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    enc = Encoder(a).eval()
    g = torch.Generator().manual_seed(a.seed)
    items = torch.randint(1, a.items, (a.batch, a.len), generator=g)
    types = torch.randint(1, 4, (a.batch, a.len), generator=g)
    gaps = torch.randint(1, 32, (a.batch, a.len), generator=g)
    lengths = torch.full((a.batch,), a.len, dtype=torch.long)
    last_only = a.mode == "last"
    with torch.inference_mode():
        for _ in range(3):
            enc(items, types, gaps, lengths, last_only)
        times = []
        start = time.perf_counter()
        while time.perf_counter() - start < a.seconds or len(times) < 5:
            t0 = time.perf_counter()
            enc(items, types, gaps, lengths, last_only)
            times.append(time.perf_counter() - t0)
    times.sort()
    median = times[len(times) // 2]
    print(json.dumps({
        "mode": a.mode,
        "threads": a.threads,
        "usersPerSecond": a.batch / median,
        "msPerBatch": median * 1000,
        "batches": len(times),
        "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
