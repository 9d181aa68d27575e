#!/usr/bin/env python3
"""make-profiles.py — write dapple profile files for VGG-19, GNMT-16 and
BERT-48 from their published layer shapes and a stated device model.

Device model (V100-like, fp32): peak 15.7 TFLOP/s, HBM 900 GB/s. A layer's
time is the roofline max(flops / (peak * efficiency), bytes / bandwidth)
with efficiency 0.60 for convolutions and large matrix products, 0.35 for
LSTM cells (small sequential matrix products) and 0.5 for embeddings /
softmax; backward = 2 x forward flops (input and weight gradients).
Activation bytes are what the forward pass keeps for the backward pass;
output bytes what the layer hands to the next one; parameter bytes are fp32
weights. Figures are per `batch` samples (the planner scales linearly).

Shapes:
  VGG-19  (Simonyan & Zisserman 2014): 224x224x3 input, 16 3x3 conv layers
          (64,64 | 128,128 | 256 x4 | 512 x4 | 512 x4, 2x2 max-pool after
          each block, folded into the block's last conv) and FC 4096, 4096,
          1000. 143.7 M parameters.
  GNMT-16 (Wu et al. 2016, 8 encoder + 8 decoder LSTM layers): hidden and
          embedding 1024, vocabulary 32000, source and target length 50,
          first encoder layer bidirectional, additive attention in the first
          decoder layer, softmax over the vocabulary.
  BERT-48 (BERT-large shapes, Devlin et al. 2018, 48 layers as in the
          DAPPLE paper): hidden 1024, 16 heads, FFN 4096, sequence 128,
          vocabulary 30522; embeddings, 48 encoder layers, MLM head.

Usage: make-profiles.py OUTDIR
"""
import os
import sys

PEAK = 15.7e12
HBM = 900e9
F32 = 4
BATCH = 32  # samples per profile line


def timed(flops, nbytes, eff):
    return max(flops / (PEAK * eff), nbytes / HBM)


def layer(name, fwd_flops, fwd_bytes, eff, act, out, params):
    """One profile line for BATCH samples (per-sample figures in)."""
    f = timed(fwd_flops * BATCH, fwd_bytes * BATCH + params, eff)
    b = timed(2 * fwd_flops * BATCH, 2 * fwd_bytes * BATCH + 2 * params, eff)
    return (name, f, b, act * BATCH, out * BATCH, params)


def vgg19():
    cfg = [(64, 2), (128, 2), (256, 4), (512, 4), (512, 4)]
    hw, cin, rows = 224, 3, []
    for bi, (cout, n) in enumerate(cfg):
        for i in range(n):
            flops = 2 * hw * hw * cin * cout * 9
            params = (9 * cin * cout + cout) * F32
            last = i == n - 1
            out_hw = hw // 2 if last else hw
            act = (hw * hw * cin + 2 * hw * hw * cout) * F32  # input, conv out, relu out
            out = out_hw * out_hw * cout * F32
            io = (hw * hw * cin + hw * hw * cout) * F32
            rows.append(layer("conv%d_%d" % (bi + 1, i + 1), flops, io, 0.60, act, out, params))
            cin = cout
            if last:
                hw = out_hw
    fin = 7 * 7 * 512
    for name, (i, o) in (("fc6", (fin, 4096)), ("fc7", (4096, 4096)), ("fc8", (4096, 1000))):
        params = (i * o + o) * F32
        rows.append(layer(name, 2 * i * o, (i + o) * F32, 0.60, (i + 2 * o) * F32, o * F32, params))
    return rows


def gnmt16():
    H, V, T = 1024, 32000, 50
    rows = []
    emb = V * H * F32
    rows.append(layer("enc_embed", 0, 2 * T * H * F32, 0.5, T * H * F32, T * H * F32, emb))
    for l in range(8):
        inp = H if l != 1 else 2 * H
        dirs = 2 if l == 0 else 1
        flops = dirs * T * 2 * 4 * H * (inp + H)
        params = dirs * (4 * H * (inp + H) + 4 * H) * F32
        act = dirs * T * 6 * H * F32  # gates, cell, hidden per step
        out = T * H * dirs * F32
        rows.append(layer("enc_lstm%d" % (l + 1), flops, act + out, 0.35, act, out, params))
    rows.append(layer("dec_embed", 0, 2 * T * H * F32, 0.5, T * H * F32, 2 * T * H * F32, emb))
    for l in range(8):
        inp = 2 * H if l == 0 else H  # embedding + attention context
        flops = T * 2 * 4 * H * (inp + H)
        params = (4 * H * (inp + H) + 4 * H) * F32
        act = T * 6 * H * F32
        if l == 0:  # attention over the T encoder states
            flops += T * T * 2 * H * 2 + T * 2 * H * H
            params += (H * H + H) * F32
            act += T * T * F32 + T * H * F32
        # decoder layers also pass the encoder states on (for attention)
        out = 2 * T * H * F32
        rows.append(layer("dec_lstm%d" % (l + 1), flops, act + out, 0.35, act, out, params))
    rows.append(layer("softmax", 2 * T * H * V, (T * H + T * V) * F32, 0.5, T * V * F32 * 2, 0,
                      (H * V + V) * F32))
    return rows


def bert48():
    H, A, FF, S, V = 1024, 16, 4096, 128, 30522
    rows = []
    rows.append(layer("embed", 0, 3 * S * H * F32, 0.5, 2 * S * H * F32, S * H * F32,
                      (V * H + 512 * H + 2 * H + 2 * H) * F32))
    per_tok = 2 * (4 * H * H) + 2 * (2 * H * FF) + 2 * 2 * S * H
    params = (4 * H * H + 4 * H + 2 * H * FF + H + FF + 4 * H) * F32
    act = S * (11 * H + 2 * FF + 2 * A * S) * F32
    for l in range(48):
        rows.append(layer("layer%d" % (l + 1), S * per_tok, act, 0.60, act, S * H * F32, params))
    rows.append(layer("mlm_head", S * 2 * H * (H + V), (S * (H + V)) * F32, 0.5, S * (2 * H + V) * F32, 0,
                      (H * H + H + 2 * H + V) * F32))
    return rows


def write(path, title, rows):
    with open(path + ".tmp", "w") as f:
        f.write("# %s — generated by make-profiles.py (V100-like fp32 roofline model, see the script)\n" % title)
        f.write("batch %d\n" % BATCH)
        f.write("# name fwd_s bwd_s act_bytes out_bytes param_bytes\n")
        for r in rows:
            f.write("%s %.6g %.6g %.6g %.6g %.6g\n" % r)
    os.replace(path + ".tmp", path)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(out, exist_ok=True)
    for name, title, fn in (("vgg19", "VGG-19", vgg19), ("gnmt16", "GNMT-16", gnmt16), ("bert48", "BERT-48", bert48)):
        rows = fn()
        write(os.path.join(out, name + ".profile"), title, rows)
        total_params = sum(r[5] for r in rows) / F32
        step = sum(r[1] + r[2] for r in rows)
        print("%-8s %3d layers, %7.1f M parameters, fwd+bwd %.3f s per %d samples" %
              (title, len(rows), total_params / 1e6, step, BATCH))


if __name__ == "__main__":
    main()
