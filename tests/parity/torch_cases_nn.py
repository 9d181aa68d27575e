"""PyTorch references for the neural-network parity cases (tests/parity/cases-nn.c).

FUNCS maps a case's torch name (the tl op name) to fn(inputs, attrs) ->
tensor or tuple of tensors; inputs are torch tensors (float ones require
grad), attrs a dict. A function with wants_tl_outputs set is called as
fn(inputs, attrs, case, tl_outputs) (the case dict and tl's outputs as numpy
arrays), for random ops whose reference reuses tl's draws.
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


def _csr_rows(indptr):
    """Row of every CSR entry."""
    indptr = indptr.long()
    return torch.repeat_interleave(torch.arange(indptr.numel() - 1), indptr[1:] - indptr[:-1])


def _spmm(ins, attrs):
    indptr, indices, values, dense = ins
    out = torch.zeros((attrs["n_rows"], dense.shape[1]), dtype=dense.dtype)
    return out.index_add(0, _csr_rows(indptr), values[:, None] * dense[indices.long()])


def _spmm_t(ins, attrs):
    indptr, indices, values, y = ins
    out = torch.zeros((attrs["n_cols"], y.shape[1]), dtype=y.dtype)
    return out.index_add(0, indices.long(), values[:, None] * y[_csr_rows(indptr)])


def _sddmm(ins, attrs):
    indptr, indices, a, b = ins
    return (a[_csr_rows(indptr)] * b[indices.long()]).sum(-1)


def _dropout(ins, attrs, case, tl_outputs):
    """y and the mask. In inference or at p = 0, torch's dropout (identity,
    mask all ones); else y = x * mask / (1 - p) with tl's dumped mask, whose
    kept fraction must be within 6 binomial standard deviations of 1 - p."""
    x, p = ins[0], attrs["p"]
    if not case["training"] or p == 0.0:
        return F.dropout(x, p, training=case["training"]), torch.ones(x.shape, dtype=torch.uint8)
    mask = torch.from_numpy(tl_outputs[1].copy())
    if mask.dtype != torch.uint8 or mask.shape != x.shape or int(mask.max()) > 1:
        raise AssertionError("dropout mask: want u8 0/1 of shape %s" % (tuple(x.shape),))
    n, kept = mask.numel(), int(mask.sum())
    sd = (n * p * (1 - p)) ** 0.5
    if abs(kept - n * (1 - p)) > 6 * sd:
        raise AssertionError("dropout kept %d of %d, expected %.1f +- %.1f" % (kept, n, n * (1 - p), 6 * sd))
    if p >= 1.0:
        return x * 0.0, mask
    return x * mask.to(x.dtype) / (1 - p), mask


_dropout.wants_tl_outputs = True


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
    "spmm": _spmm,
    "spmm_t": _spmm_t,
    "sddmm": _sddmm,
    "dropout": _dropout,
}
