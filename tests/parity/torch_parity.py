#!/usr/bin/python3
"""Compare tl-parity-dump output with PyTorch.

usage: torch_parity.py [--tap] DUMPDIR

For each case in DUMPDIR/cases.json, recompute the forward outputs and the
input gradients for the dumped upstream gradient with the torch function
named by the case (torch_cases_basic.FUNCS and, when present,
torch_cases_nn.FUNCS), and compare by max|a-b| / max(1, max|ref|).
Prints per-op worst abs/rel error and "parity: N ops, worst rel err X";
exits 1 when any case exceeds its tolerance or failed to run.
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_cases_basic  # noqa: E402

FUNCS = dict(torch_cases_basic.FUNCS)
try:
    import torch_cases_nn  # noqa: E402
    FUNCS.update(torch_cases_nn.FUNCS)
except ImportError:
    pass


def load(d, rel):
    return None if rel is None else np.load(os.path.join(d, rel))


def errs(ours, ref):
    ours = np.asarray(ours, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if ours.shape != ref.shape:
        return float("inf"), float("inf"), "shape %s vs torch %s" % (ours.shape, ref.shape)
    if ours.size == 0:
        return 0.0, 0.0, None
    diff = np.abs(ours - ref)
    ab = float(np.max(diff))
    rel = ab / max(1.0, float(np.max(np.abs(ref))))
    if np.isnan(ab):
        return float("inf"), float("inf"), "NaN"
    return ab, rel, None


def run_case(d, c):
    """Returns (worst_abs, worst_rel, message or None)."""
    if "error" in c:
        return float("inf"), float("inf"), "dump failed: " + c["error"]
    fn = FUNCS.get(c["torch"])
    if fn is None:
        return float("inf"), float("inf"), "no torch function '%s'" % c["torch"]
    ins = []
    for rel in c["inputs"]:
        a = load(d, rel)
        t = torch.from_numpy(a.copy())
        if t.is_floating_point():
            t.requires_grad_(True)
        ins.append(t)
    if getattr(fn, "wants_tl_outputs", False):
        out = fn(ins, c["attrs"], c, [load(d, rel) for rel in c["outputs"]])
    else:
        out = fn(ins, c["attrs"])
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    worst_abs, worst_rel, msg = 0.0, 0.0, None
    if len(outs) != c["n_outputs"]:
        return float("inf"), float("inf"), "%d outputs vs torch %d" % (c["n_outputs"], len(outs))
    for k, rel in enumerate(c["outputs"]):
        ab, re, m = errs(load(d, rel), outs[k].detach().numpy())
        worst_abs, worst_rel = max(worst_abs, ab), max(worst_rel, re)
        msg = msg or (m and "output %d: %s" % (k, m))
    if c.get("grad_inputs") is not None:
        pairs = [(outs[k], torch.from_numpy(load(d, rel).copy()))
                 for k, rel in enumerate(c["grad_outputs"]) if rel is not None and outs[k].requires_grad]
        if pairs:
            torch.autograd.backward([p[0] for p in pairs], [p[1] for p in pairs])
        for i, rel in enumerate(c["grad_inputs"]):
            if rel is None:
                continue
            g = ins[i].grad
            ref = np.zeros(ins[i].shape, dtype=np.float32) if g is None else g.numpy()
            ab, re, m = errs(load(d, rel), ref)
            worst_abs, worst_rel = max(worst_abs, ab), max(worst_rel, re)
            msg = msg or (m and "grad of input %d: %s" % (i, m))
    return worst_abs, worst_rel, msg


def main(argv):
    tap = "--tap" in argv
    args = [a for a in argv[1:] if a != "--tap"]
    if len(args) != 1:
        print(__doc__)
        return 2
    d = args[0]
    with open(os.path.join(d, "cases.json")) as f:
        cases = json.load(f)
    torch.manual_seed(0)
    per_op = {}
    failed = []
    for c in cases:
        try:
            ab, re, msg = run_case(d, c)
        except Exception as e:  # a broken reference is a failure, not a crash
            ab, re, msg = float("inf"), float("inf"), "exception: %r" % (e,)
        ok = msg is None and re <= c.get("tol", 1e-4)
        if not ok:
            failed.append(c["name"])
            print("# FAIL %s (%s): abs %.3g rel %.3g tol %.3g%s" % (
                c["name"], c["op"], ab, re, c.get("tol", 1e-4), (": " + msg) if msg else ""))
        o = per_op.setdefault(c["op"], {"abs": 0.0, "rel": 0.0, "ok": True, "cases": 0})
        o["abs"], o["rel"] = max(o["abs"], ab), max(o["rel"], re)
        o["ok"] = o["ok"] and ok
        o["cases"] += 1
    ops = sorted(per_op)
    if tap:
        print("1..%d" % len(ops))
    for i, op in enumerate(ops):
        o = per_op[op]
        line = "%s %d cases, worst abs %.3g rel %.3g" % (op, o["cases"], o["abs"], o["rel"])
        if tap:
            print("%s %d - %s" % ("ok" if o["ok"] else "not ok", i + 1, line))
        else:
            print(("ok   " if o["ok"] else "FAIL ") + line)
    worst = max([per_op[op]["rel"] for op in ops] or [0.0])
    print("%sparity: %d ops, worst rel err %.3g" % ("# " if tap else "", len(ops), worst))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
