"""BENCH fives: the FIVES model of plugins/fives trained side by side in tl
(`tlhost run`, the fives.fives component) and in PyTorch (this file, the same
model, loss, alternation, optimizer and schedule), on the same planted data
(written here as CSV and read by tl.csv), same batch, epochs and threads.

Prints `BENCH fives ... ratio=<tl rows/s / torch rows/s> better=higher
target=1.5` and both test AUCs (equal AUC is the condition of the ratio).

Both sides time the training loop only (rows/s = steps x batch / seconds),
on the host's monotonic clock, at full precision: torch from its first step
to its last (after the model and optimizer are built, the data already in
memory); tl from tlhost's "train: started" progress line to its
"train: done" line (the trainer's step loop, after the job is validated, the
plugins loaded, the CSV read and the model built; its per-epoch checkpoint
of the small model is inside). Neither includes start-up or the test
evaluation.

Usage: fives_torch.py [--threads T] [--rows N] [--epochs E] [--tlhost PATH]
"""
import argparse
import csv
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time

import torch

FIELDS, CARD, BATCH, DIM, LAYERS = 10, 8, 256, 8, 2
LR, TAU0, TAU1, ANNEAL, SEARCH, SPARSITY, VAL = 0.01, 1.0, 0.1, 150, 150, 0.01, 0.2


def planted(n, gen, tables):
    """Planted pairs {1,2}, {3,4} and triple {5,6,7} (as fives.planted)."""
    mains, p12, p34, tvec = tables
    x = torch.randint(0, CARD, (n, FIELDS), generator=gen)
    z = 0.3 * sum(mains[f][x[:, f]] for f in range(FIELDS))
    z = z + 2.0 * (p12[x[:, 1], x[:, 2]] + p34[x[:, 3], x[:, 4]])
    z = z + 1.5 * tvec[0][x[:, 5]] * tvec[1][x[:, 6]] * tvec[2][x[:, 7]]
    y = (torch.rand(n, generator=gen) < torch.sigmoid(z)).long()
    return x, y


def make_tables(gen):
    def centred(k):
        v = torch.randn(k, generator=gen, dtype=torch.float64)
        v = v - v.mean()
        return v / v.pow(2).mean().sqrt()

    def pure_pair():
        t = torch.randn(CARD, CARD, generator=gen, dtype=torch.float64)
        t = t - t.mean(1, keepdim=True)
        t = t - t.mean(0, keepdim=True)
        return t / t.pow(2).mean().sqrt()
    mains = [centred(CARD) for _ in range(FIELDS)]
    return mains, pure_pair(), pure_pair(), [centred(CARD) + 0.5 for _ in range(3)]


def write_csv(path, x, y):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        for row, lab in zip(x.tolist(), y.tolist()):
            w.writerow(["v%d" % v for v in row] + [lab])


def normal_quantile(p):
    lo, hi = -10.0, 10.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if 0.5 * math.erfc(-mid / math.sqrt(2)) < p:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


class Fives(torch.nn.Module):
    """The fives.fives graph (model-fives.c), in PyTorch."""

    def __init__(self):
        super().__init__()
        # one table for all fields, indexed by x + field offset (the usual CTR layout)
        self.emb = torch.nn.Embedding(FIELDS * CARD, DIM)
        torch.nn.init.normal_(self.emb.weight, std=0.3)
        self.w = torch.nn.Embedding(FIELDS * CARD, 1)
        torch.nn.init.zeros_(self.w.weight)
        self.register_buffer("offsets", torch.arange(FIELDS) * CARD)
        self.bias = torch.nn.Parameter(torch.zeros(1))
        self.gnn = torch.nn.ModuleList(torch.nn.Linear(DIM, DIM, bias=False) for _ in range(LAYERS))
        self.out = torch.nn.ParameterList(torch.nn.Parameter(torch.zeros(1, FIELDS * DIM))
                                          for _ in range(LAYERS))
        self.H = torch.nn.ParameterList(torch.nn.Parameter(torch.zeros(FIELDS, FIELDS))
                                        for _ in range(LAYERS))
        self.register_buffer("split", torch.randn(FIELDS, CARD))
        self.register_buffer("offdiag", 1 - torch.eye(FIELDS))
        self.tau_inv = 1.0 / TAU0
        self.on = 1.0
        self.z = normal_quantile(1 - VAL)

    def val_mask(self, x):
        s = self.split[torch.arange(FIELDS), x].sum(1) / math.sqrt(FIELDS)
        return torch.sigmoid(50.0 * (s - self.z))

    def forward(self, x, wd=False, ad=False):
        d = (lambda t: t.detach()) if wd else (lambda t: t)
        a = (lambda t: t.detach()) if ad else (lambda t: t)
        xi = x + self.offsets
        e = torch.nn.functional.embedding(xi, d(self.emb.weight))            # [B, F, D]
        z = torch.nn.functional.embedding(xi, d(self.w.weight)).sum((1, 2)) + d(self.bias)
        state, adj, mass = e, self.offdiag, None
        for k in range(LAYERS):
            h = a(self.H[k])
            h = 0.5 * (h + h.t())                                       # symmetric=true
            adj = adj * torch.sigmoid(h * self.tau_inv)
            if k == 0:
                mass = adj.mean()
            t = e @ d(self.gnn[k].weight).t()
            msg = (adj @ t) / (FIELDS - 1)
            state = state * msg
            z = z + (state.reshape(len(x), -1) @ d(self.out[k]).t()).reshape(-1)
        return z, mass


def bce_rows(z, y):
    return torch.nn.functional.binary_cross_entropy_with_logits(z, y, reduction="none")


def torch_train(x, y, epochs, seed):
    torch.manual_seed(seed)
    m = Fives()
    opt = torch.optim.Adam(m.parameters(), lr=LR)
    n = len(x) // BATCH
    yf = y.float()
    step = 0
    t0 = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(len(x))
        for i in range(n):
            rows = perm[i * BATCH:(i + 1) * BATCH]
            xb, yb = x[rows], yf[rows]
            val = m.val_mask(xb)
            trn = 1 - val * m.on
            zw, _ = m(xb, ad=True)
            zh, mass = m(xb, wd=True)
            lw = (bce_rows(zw, yb) * trn).sum() / (trn.sum() + 1e-6)
            lh = (bce_rows(zh, yb) * val).sum() / (val.sum() + 1e-6) + SPARSITY * mass
            loss = lw + lh * m.on
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            # like tl's step_end: H is frozen at the switch (Adam's momentum
            # would move it on), written back after every later step
            with torch.no_grad():
                if step == SEARCH:
                    frozen = [h.detach().clone() for h in m.H]
                elif step > SEARCH:
                    for h, f in zip(m.H, frozen):
                        h.copy_(f)
            m.on = 1.0 if step < SEARCH else 0.0
            m.tau_inv = 1.0 / (TAU0 * (TAU1 / TAU0) ** min(1.0, step / ANNEAL))
    secs = time.perf_counter() - t0
    return m, step, secs


def auc(scores, labels):
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    pos = sum(labels)
    neg = len(labels) - pos
    return (sum(r for r, l in zip(ranks, labels) if l) - pos * (pos + 1) / 2) / (pos * neg)


# The PyTorch model keeps the soft adjacency frozen after the search; so does
# tl's with binarize=false (the default, binarize=true, swaps in 0/1 masks:
# the same work per step, a different model).
JOB = """<job xmlns="urn:tl:job:1" name="bench-fives">
  <dataset id="train" component="tl.csv"><set name="path">{train}</set><set name="schema">{schema}</set>
    <set name="label_values">0,1</set></dataset>
  <dataset id="test" component="tl.csv"><set name="path">{test}</set><set name="schema">{schema}</set>
    <set name="vocab_from">{train}</set><set name="label_values">0,1</set></dataset>
  <model id="m" component="fives.fives"><set name="embed_dim">{dim}</set><set name="layers">{layers}</set>
    <set name="binarize">false</set></model>
  <task kind="train" model="m" data="train" epochs="{epochs}" batch="{batch}" optimizer="adam" lr="{lr}" seed="{seed}" threads="{threads}"/>
  <task kind="evaluate" model="m" data="test" batch="1000" threads="{threads}"/>
</job>
"""


def tl_train(tlhost, out, job, env):
    """Run `tlhost run`; return (training steps, seconds of the training
    phase). The phase is timed here, at full precision, between tlhost's
    progress lines "train: started" and "train: done (...)", which it writes
    (unbuffered stderr) when the trainer begins and ends its step loop: the
    same interval as the trainer's own clock, without its 0.1 s rounding,
    and without start-up, data loading or the evaluation task."""
    with tempfile.TemporaryFile(mode="w+") as so:
        p = subprocess.Popen([tlhost, "run", "-o", out, job], env=env, stdout=so,
                             stderr=subprocess.PIPE)
        err, t_start, t_done = [], None, None
        for raw in iter(p.stderr.readline, b""):
            now = time.perf_counter()
            line = raw.decode(errors="replace")
            if line.startswith("train: started") and t_start is None:
                t_start = now
            elif line.startswith("train: done (") and t_done is None:
                t_done = now
            err.append(line)
        rc = p.wait()
        so.seek(0)
        text = so.read() + "".join(err)
    if rc != 0:
        sys.exit("tlhost failed:\n" + text)
    mt = re.search(r"train: done \((\d+) steps in ([0-9.]+) s\)", text)
    if not mt or t_start is None or t_done is None:
        sys.exit("tlhost printed no 'train: started' / 'train: done' lines:\n" + text)
    return int(mt.group(1)), t_done - t_start


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-t", "--threads", type=int, default=int(os.environ.get("TL_BENCH_THREADS", "2")))
    ap.add_argument("--rows", type=int, default=100000)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tlhost", default=os.environ.get("TLHOST", "./hosts/tlhost"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(args.seed)
    tables = make_tables(gen)
    xtr, ytr = planted(args.rows, gen, tables)
    xte, yte = planted(20000, gen, tables)
    with tempfile.TemporaryDirectory() as tmp:
        train, test = os.path.join(tmp, "train.csv"), os.path.join(tmp, "test.csv")
        write_csv(train, xtr, ytr)
        write_csv(test, xte, yte)
        schema = ",".join("f%d:str" % f for f in range(FIELDS)) + ",label:label"
        job = os.path.join(tmp, "job.xml")
        with open(job, "w") as f:
            f.write(JOB.format(train=train, test=test, schema=schema, dim=DIM, layers=LAYERS,
                               epochs=args.epochs, batch=BATCH, lr=LR, seed=args.seed, threads=args.threads))
        env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads))
        out = os.path.join(tmp, "out")
        tl_steps, tl_secs = tl_train(args.tlhost, out, job, env)
        with open(os.path.join(out, "metrics.jsonl")) as f:
            tl_auc = [json.loads(l) for l in f if '"evaluate"' in l][-1]["auc"]
    m, steps, secs = torch_train(xtr, ytr, args.epochs, args.seed)
    with torch.no_grad():
        zt, _ = m(xte)
    t_auc = auc(zt.tolist(), yte.tolist())
    tl_rps, t_rps = tl_steps * BATCH / tl_secs, steps * BATCH / secs
    print("# tl: %d steps in %.3f s (training loop), test AUC %.4f; torch %s: %d steps in %.3f s, "
          "test AUC %.4f; threads %d" % (tl_steps, tl_secs, tl_auc, torch.__version__, steps, secs, t_auc,
                                        args.threads))
    print("BENCH fives tl_rows_per_s=%.0f torch_rows_per_s=%.0f auc_tl=%.4f auc_torch=%.4f threads=%d "
          "ratio=%.2f better=higher target=1.5" % (tl_rps, t_rps, tl_auc, t_auc, args.threads, tl_rps / t_rps))


if __name__ == "__main__":
    main()
