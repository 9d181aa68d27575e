"""PyTorch anchor of BENCH dispatch: eager `x = x + y` 100 times on f32[4]
tensors, repeated; microseconds per op (Python loop included, as a user
of eager mode pays it). Mirrors bench-dispatch.c."""
import time

import torch_bench  # first: sets OPENBLAS_NUM_THREADS before torch loads

import torch  # noqa: E402

CHAIN = 100


def main():
    args = torch_bench.parse_args(__doc__, steps=5000, warmup=200)
    x0 = torch.tensor([1.0, 2.0, 3.0, 4.0])
    y = torch.tensor([0.5, 0.25, -1.0, 2.0])

    def run():
        x = x0
        for _ in range(CHAIN):
            x = x + y
        return x

    for _ in range(args.warmup):
        run()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(args.steps):
        x = run()
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    if not torch.allclose(x, x0 + CHAIN * y, atol=1e-3):
        raise SystemExit("torch_dispatch: wrong result")
    print("dispatch torch %s runs=%d ops=%d us_per_op=%.4f us_per_run=%.3f cpu_us_per_op=%.4f "
          "torch=%s"
          % (torch_bench.threads_info(), args.steps, CHAIN, 1e6 * secs / (args.steps * CHAIN),
             1e6 * secs / args.steps, 1e6 * cpu / (args.steps * CHAIN), torch.__version__),
          flush=True)


if __name__ == "__main__":
    main()
