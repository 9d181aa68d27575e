"""Shared helpers of the PyTorch anchors of the engine benchmarks.

Each anchor prints one half line, "<name> torch threads=N <metric>=<value> ...",
which run-bench.sh pairs with the tl half printed by the C program.
Reference only: tl never depends on torch.
"""
import argparse
import os
import sys
import time


def _thread_arg():
    """--threads from the command line, or the number of CPUs."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--threads", "-t", type=int, default=0)
    n = p.parse_known_args(sys.argv[1:])[0].threads
    return n if n > 0 else len(os.sched_getaffinity(0))


# torch.set_num_threads() sizes torch's own OpenMP pool only; the OpenBLAS
# that Debian's torch calls for GEMMs keeps its own pool (one thread per
# CPU) unless told before it is loaded. tl's tl_set_num_threads() sets both,
# so pin OpenBLAS here too, before importing torch, for equal thread counts.
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(_thread_arg()))

import torch  # noqa: E402


def parse_args(description, steps, warmup):
    """Parse --threads/--steps/--warmup/--seed and set torch's thread count."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--threads", "-t", type=int, default=0,
                   help="intra-op threads (default: number of CPUs)")
    p.add_argument("--steps", "-n", type=int, default=steps, help="timed iterations")
    p.add_argument("--warmup", "-w", type=int, default=warmup, help="untimed iterations first")
    p.add_argument("--seed", "-s", type=int, default=42)
    args = p.parse_args()
    if args.threads <= 0:
        args.threads = len(os.sched_getaffinity(0))
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    return args


def threads_info():
    """The "threads=N openblas_threads=M" fields of a half line."""
    return "threads=%d openblas_threads=%s" % (torch.get_num_threads(),
                                               os.environ.get("OPENBLAS_NUM_THREADS", "?"))


def train(name, model, x, y, opt, args):
    """Time args.steps training steps (after args.warmup untimed ones) and
    print the half line (same fields as tl's bench_train)."""
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    loss_first = None
    for _ in range(args.warmup):
        l = step()
        if loss_first is None:
            loss_first = l
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(args.steps):
        loss_last = step()
        if loss_first is None:
            loss_first = loss_last
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    print("%s torch %s steps=%d steps_per_s=%.3f ms_per_step=%.3f cpu_ms_per_step=%.3f "
          "loss_first=%.4f loss_last=%.4f torch=%s"
          % (name, threads_info(), args.steps, args.steps / secs, 1e3 * secs / args.steps,
             1e3 * cpu / args.steps, loss_first, loss_last, torch.__version__), flush=True)
