"""PyTorch CPU eager anchor of the fusion benchmarks (bench-fusion.c).

Same graphs, written with the same primitive ops (eager runs one kernel per
op, like tl's unfused graph). Prints one half line per benchmark:
  fusion-NAME torch threads=N eager_ms=.. native_ms=..
eager_ms: the primitive composition; native_ms: torch's own fused ops
(F.layer_norm, torch.softmax) where they apply. Best of --steps runs.
Reference only: tl never depends on torch.
"""
import math
import os
import time

from torch_bench import parse_args  # sets OPENBLAS_NUM_THREADS first
import torch
import torch.nn.functional as F


def ln_prims(x, g, b):
    m = x.mean(-1, keepdim=True)
    d = x - m
    v = (d * d).mean(-1, keepdim=True)
    return d * torch.rsqrt(v + 1e-5) * g + b


def softmax_prims(x):
    m = x.amax(-1, keepdim=True)
    e = torch.exp(x - m)
    return e / e.sum(-1, keepdim=True)


def timed(fn, steps, warmup):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(steps):
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1e3)
    return min(ts)  # best run, as bench-fusion.c


def main():
    args = parse_args("fusion benchmarks (PyTorch half)", 20, 3)
    torch.manual_seed(args.seed)
    only = os.environ.get("FUSION_BENCH_ONLY") or None
    R, C = 2048, 768
    x = torch.randn(R, C)
    res = torch.randn(R, C)
    g = torch.rand(C) * 2 - 1
    b = torch.rand(C) * 2 - 1
    bias = torch.rand(C) * 2 - 1
    xs = torch.randn(8 * 12 * 128 // 4, 128)
    B, S, H, NH, FFN = 32, 128, 768, 12, 3072
    scores = torch.randn(B, NH, S, S)
    mask = torch.randn(B, 1, 1, S)
    attn, xx, ff2 = torch.randn(B * S, H), torch.randn(B * S, H), torch.randn(B * S, H)
    ff1 = torch.randn(B * S, FFN)
    bo, g1, b1, bf2, g2, b2 = (torch.rand(H) for _ in range(6))
    bf1 = torch.rand(FFN)

    def bert(ln, sm):
        p = sm(scores * 0.125 + mask)
        h1 = ln(attn + bo + xx, g1, b1)
        act = F.gelu(ff1 + bf1)
        h2 = ln(ff2 + bf2 + h1, g2, b2)
        return p, act, h2

    def ln_native(x_, g_, b_):
        return F.layer_norm(x_, (x_.shape[-1],), g_, b_, 1e-5)

    def sm_native(x_):
        return torch.softmax(x_, -1)

    cases = [
        ("layernorm", lambda: ln_prims(x, g, b), lambda: ln_native(x, g, b)),
        ("softmax", lambda: softmax_prims(xs), lambda: sm_native(xs)),
        ("gelu-residual-layernorm", lambda: ln_prims(F.gelu(x + bias) + res, g, b),
         lambda: ln_native(F.gelu(x + bias) + res, g, b)),
        ("bert-memory-bound", lambda: bert(ln_prims, softmax_prims), lambda: bert(ln_native, sm_native)),
    ]
    with torch.no_grad():
        for name, eager, native in cases:
            if only and only not in name:
                continue
            e = timed(eager, args.steps, args.warmup)
            n = timed(native, args.steps, args.warmup)
            print(f"fusion-{name} torch threads={args.threads} eager_ms={e:.3f} native_ms={n:.3f}", flush=True)

    # encoder-layer training step (forward + backward), as bench-fusion.c
    TB, TS, TH, TN, TF = 4, 64, 256, 4, 1024
    if only and only not in "encoder-train-step":
        return
    def P(*shape, s=0.1):
        return (torch.rand(*shape) * 2 - 1).mul_(s).requires_grad_()
    ps = {n: P(TH, TH, s=1 / math.sqrt(TH)) for n in "qkvo"}
    pb = {n: P(TH) for n in "qkvo"}
    w1, bw1, w2, bw2 = P(TH, TF, s=1 / math.sqrt(TH)), P(TF), P(TF, TH, s=1 / math.sqrt(TF)), P(TH)
    lg1, lb1, lg2, lb2 = P(TH, s=1), P(TH, s=1), P(TH, s=1), P(TH, s=1)
    tx, ty = torch.randn(TB * TS, TH), torch.randn(TB * TS, TH)

    def heads(t):
        return t.reshape(TB, TS, TN, TH // TN).permute(0, 2, 1, 3)

    def step(ln, sm):
        q, k, v = (heads(tx @ ps[n] + pb[n]) for n in "qkv")
        p = sm((q @ k.transpose(-1, -2)) * (1 / math.sqrt(TH // TN)))
        ctx = (p @ v).permute(0, 2, 1, 3).reshape(TB * TS, TH)
        h1 = ln(ctx @ ps["o"] + pb["o"] + tx, lg1, lb1)
        f = F.gelu(h1 @ w1 + bw1)
        h2 = ln(f @ w2 + bw2 + h1, lg2, lb2)
        loss = F.mse_loss(h2, ty)
        loss.backward()

    e = timed(lambda: step(ln_prims, softmax_prims), args.steps, args.warmup)
    n = timed(lambda: step(ln_native, sm_native), args.steps, args.warmup)
    print(f"fusion-encoder-train-step torch threads={args.threads} eager_ms={e:.3f} native_ms={n:.3f}",
          flush=True)


if __name__ == "__main__":
    main()
