"""PyTorch references for the neural-network parity cases (tests/parity/cases-nn.c).

FUNCS maps a case's torch name (the tl op name) to fn(inputs, attrs) ->
tensor or tuple of tensors; inputs are torch tensors (float ones require
grad), attrs a dict.
"""
import torch
import torch.nn.functional as F


def _matmul(ins, attrs):
    a, b = ins
    if attrs.get("trans_a", 0):
        a = a.transpose(-1, -2)
    if attrs.get("trans_b", 0):
        b = b.transpose(-1, -2)
    return torch.matmul(a, b)


def _linear(ins, attrs):
    return F.linear(ins[0], ins[1], ins[2] if len(ins) > 2 else None)


def _conv(fn):
    def run(ins, attrs):
        return fn(ins[0], ins[1], ins[2] if len(ins) > 2 else None, stride=attrs.get("stride", 1),
                  padding=attrs.get("padding", 0), dilation=attrs.get("dilation", 1),
                  groups=attrs.get("groups", 1))
    return run


def _pool(fn, is_avg):
    def run(ins, attrs):
        k = attrs["kernel"]
        s = attrs.get("stride", 0) or k
        kw = dict(count_include_pad=True) if is_avg else {}
        return fn(ins[0], k, stride=s, padding=attrs.get("padding", 0), **kw)
    return run


def _embedding(ins, attrs):
    return F.embedding(ins[1].long(), ins[0])


def _gather(ins, attrs):
    x, idx = ins
    axis = attrs.get("axis", 0) % x.dim()
    flat = idx.long().reshape(-1)
    y = torch.index_select(x, axis, flat)
    return y.reshape(x.shape[:axis] + idx.shape + x.shape[axis + 1:])


def _scatter_add(ins, attrs):
    src, idx = ins
    n_rows = attrs["n_rows"]
    axis = attrs.get("axis", 0)
    out_nd = src.dim() - idx.dim() + 1
    axis %= out_nd
    pre = src.shape[:axis]
    post = src.shape[axis + idx.dim():]
    s = src.reshape(pre + (idx.numel(),) + post)
    out = torch.zeros(pre + (n_rows,) + post, dtype=src.dtype)
    return out.index_add(axis, idx.long().reshape(-1), s)


FUNCS = {
    "matmul": _matmul,
    "linear": _linear,
    "conv1d": _conv(F.conv1d),
    "conv2d": _conv(F.conv2d),
    "max_pool1d": _pool(F.max_pool1d, False),
    "max_pool2d": _pool(F.max_pool2d, False),
    "avg_pool1d": _pool(F.avg_pool1d, True),
    "avg_pool2d": _pool(F.avg_pool2d, True),
    "embedding": _embedding,
    "gather": _gather,
    "scatter_add": _scatter_add,
}
