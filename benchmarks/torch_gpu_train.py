#!/usr/bin/env python3
"""torch_gpu_train.py — the PyTorch-eager half of the GPU training-step
benchmarks (benchmarks/run-gpu-bench.sh pairs it with bench-gpu-train):
the same models, batch sizes, loss and optimizer as bench-gpu-train.c, on
the same GPU, TF32 off (tl's cuBLAS GEMMs are plain fp32 unless
TL_CUDA_TF32=1).

Prints one half line
    gpu-NAME torch device=.. steps=S ms_per_step=.. steps_per_s=.. kernels=K
      launch_us_per_kernel=.. loss_first=.. loss_last=..
(kernels: CUDA kernels of one step under torch.profiler, -1 without it)
or "SKIP REASON" (no torch, no CUDA in torch) and exits 0.
"""
import argparse
import os
import sys
import time


def print_profile(model, prof, torch):
    """TL_GPU_BENCH_PROFILE: the CUDA kernels of one profiled step by time,
    one "profile-NAME torch kernel=.. calls=.. ms=.. share=.." line each
    (the 15 largest)."""
    rows = {}
    for e in prof.events():
        if e.device_type != torch.autograd.DeviceType.CUDA:
            continue
        us = e.time_range.elapsed_us()  # a device event's range is the kernel's
        name = e.name.replace(" ", "")[:70]
        n, t = rows.get(name, (0, 0.0))
        rows[name] = (n + 1, t + us)
    total = sum(t for _, t in rows.values()) or 1.0
    for name, (n, t) in sorted(rows.items(), key=lambda kv: -kv[1][1])[:15]:
        print(f"profile-{model} torch kernel={name} calls={n} ms={t / 1e3:.4f} share={t / total:.3f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", choices=["mlp", "transformer"])
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    try:
        import torch
    except Exception as e:  # noqa: BLE001 - any import failure means no anchor
        print(f"SKIP torch not importable: {e}")
        return 0
    if not torch.cuda.is_available():
        print(f"SKIP torch {torch.__version__} sees no CUDA device")
        return 0
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(args.seed)
    dev = torch.device("cuda")
    nn = torch.nn

    if args.model == "mlp":
        batch = 128
        model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                              nn.Linear(512, 10)).to(dev)
        x = torch.randn(batch, 784, device=dev)
        y = torch.randint(0, 10, (batch,), device=dev)
        loss_fn = nn.CrossEntropyLoss()
    else:
        batch, seq, hidden, heads, ffn = 32, 128, 768, 12, 3072
        model = nn.TransformerEncoderLayer(hidden, heads, dim_feedforward=ffn, dropout=0.0,
                                           activation="gelu", batch_first=True,
                                           norm_first=False).to(dev)
        x = torch.randn(batch, seq, hidden, device=dev)
        y = torch.randn(batch, seq, hidden, device=dev)
        loss_fn = nn.MSELoss()
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    loss_first = float(step().item())
    for _ in range(max(args.warmup - 1, 0)):
        step()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        loss = step()
    torch.cuda.synchronize()
    secs = time.perf_counter() - t0
    # kernels per step (one profiled step; -1 when the profiler is unusable)
    kernels = -1
    try:
        from torch.profiler import ProfilerActivity, profile
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            step()
            torch.cuda.synchronize()
        kernels = sum(1 for e in prof.events()
                      if e.device_type == torch.autograd.DeviceType.CUDA
                      and not e.name.lower().startswith("memcpy")
                      and not e.name.lower().startswith("memset"))
        if os.environ.get("TL_GPU_BENCH_PROFILE"):
            try:
                print_profile(args.model, prof, torch)
            except Exception as e:  # noqa: BLE001 - the profile is informational
                print(f"profile-{args.model} torch unavailable: {e}")
    except Exception:  # noqa: BLE001 - the count is informational
        kernels = -1
    ms = 1e3 * secs / args.steps
    per_kernel = f"{1e3 * ms / kernels:.3f}" if kernels > 0 else "NA"
    name = torch.cuda.get_device_name(0).replace(" ", "_").replace(",", "_").replace("=", "_")
    print(f"gpu-{args.model} torch device={name} torch={torch.__version__} steps={args.steps} "
          f"ms_per_step={ms:.4f} steps_per_s={args.steps / secs:.3f} kernels={kernels} "
          f"launch_us_per_kernel={per_kernel} "
          f"loss_first={loss_first:.5f} loss_last={float(loss.item()):.5f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
