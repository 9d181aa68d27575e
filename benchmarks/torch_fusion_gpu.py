"""PyTorch GPU anchor of the fusion GPU benchmarks (bench-fusion.c, GPU part).

LayerNorm over R x 1024 fp32 (R = 65536 and 4096) on the GPU: torch eager
with the same primitive ops as tl's graph, F.layer_norm, torch.compile of the
primitive composition (when it works on this machine), and the copy roof
measured the same way (an elementwise op reading and writing the tensor).
Prints one half line per size:
  fusion-gpu-layernorm-RxC torch device=cuda eager_us=.. native_us=.. compiled_us=.. torch_roof_us=..
(compiled_us=nan when torch.compile is unavailable). Each figure is the
median, over 20 blocks of back-to-back calls ended by one
torch.cuda.synchronize(), of the block's host wall time per call: the same
method as bench-fusion.c's GPU figures (not CUDA events, which would leave
out the dispatch that tl's figures include). Reference only: tl never
depends on torch.
"""
import os
import sys
import time

import torch
import torch.nn.functional as F


def ln_prims(x, g, b):
    m = x.mean(-1, keepdim=True)
    d = x - m
    v = (d * d).mean(-1, keepdim=True)
    return d * torch.rsqrt(v + 1e-5) * g + b


# The same timing as bench-fusion.c's GPU part (and bench-gpu-gemm.c): host
# wall clock around a block of back-to-back calls ended by one
# torch.cuda.synchronize(), so that both sides include the same dispatch and
# one synchronisation per block. A block holds about BLOCK_SECONDS of work
# (estimated from one probe block of PROBE_RUNS calls), MIN_RUNS to MAX_RUNS
# calls; the figure is the median block's time per call.
BLOCK_SECONDS, PROBE_RUNS, MIN_RUNS, MAX_RUNS = 5e-3, 5, 20, 2000


def timed_us(fn, steps=20, warmup=3):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(PROBE_RUNS):
        fn()
    torch.cuda.synchronize()
    per_run = max((time.perf_counter() - t0) / PROBE_RUNS, 1e-7)
    n = int(min(max(BLOCK_SECONDS / per_run, MIN_RUNS), MAX_RUNS))
    ts = []
    for _ in range(max(1, steps)):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        torch.cuda.synchronize()
        ts.append((time.perf_counter() - t0) / n * 1e6)
    ts.sort()
    return ts[len(ts) // 2]


def main():
    if not torch.cuda.is_available():
        print("# torch_fusion_gpu: skipped (torch sees no CUDA device)")
        return 0
    only = os.environ.get("FUSION_BENCH_ONLY") or None
    torch.manual_seed(42)
    C = 1024
    try:
        compiled = torch.compile(ln_prims)
    except Exception as e:  # noqa: BLE001 - any failure means "not available"
        print(f"# torch.compile unavailable: {e}")
        compiled = None
    for R in (65536, 4096):
        name = f"fusion-gpu-layernorm-{R}x{C}"
        if only and only not in name:
            continue
        x = torch.randn(R, C, device="cuda")
        g = torch.rand(C, device="cuda") + 0.5
        b = torch.rand(C, device="cuda") - 0.5
        with torch.no_grad():
            eager = timed_us(lambda: ln_prims(x, g, b))
            native = timed_us(lambda: F.layer_norm(x, (C,), g, b, 1e-5))
            roof = timed_us(lambda: torch.neg(x))
            comp = float("nan")
            if compiled is not None:
                try:
                    comp = timed_us(lambda: compiled(x, g, b))
                except Exception as e:  # noqa: BLE001
                    print(f"# torch.compile failed: {e}", file=sys.stderr)
        print(f"{name} torch device=cuda eager_us={eager:.1f} native_us={native:.1f} compiled_us={comp:.1f} "
              f"torch_roof_us={roof:.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
