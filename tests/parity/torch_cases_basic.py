"""PyTorch references for the basic parity cases (tests/parity/cases-basic.c).

FUNCS maps a case's torch name to fn(inputs, attrs) -> tensor or tuple of
tensors; inputs are torch tensors (float ones require grad), attrs a dict.
"""
import torch
import torch.nn.functional as F

DTYPES = {"f32": torch.float32, "f64": torch.float64, "i32": torch.int32, "i64": torch.int64}


def _axes(x, attrs):
    axes = attrs.get("axes") or list(range(x.dim()))
    return [a % x.dim() for a in axes] if x.dim() else []


def _reduce(kind):
    def fn(ins, attrs):
        x = ins[0]
        keep = bool(attrs.get("keepdims", 0))
        axes = _axes(x, attrs)
        if not axes:
            return x.clone()
        if kind == "sum":
            return torch.sum(x, dim=axes, keepdim=keep)
        if kind == "mean":
            return torch.mean(x, dim=axes, keepdim=keep)
        return torch.amax(x, dim=axes, keepdim=keep)
    return fn


def _sum_to(ins, attrs):
    x, shape = ins[0], list(attrs["shape"])
    lead = x.dim() - len(shape)
    axes = list(range(lead)) + [lead + i for i, s in enumerate(shape) if s == 1 and x.shape[lead + i] != 1]
    y = torch.sum(x, dim=axes, keepdim=True) if axes else x
    return y.reshape(shape)


def _layer_norm(ins, attrs):
    x = ins[0]
    i = 1
    gamma = beta = None
    if attrs.get("has_gamma", 0):
        gamma = ins[i]
        i += 1
    if attrs.get("has_beta", 0):
        beta = ins[i]
    return F.layer_norm(x, (x.shape[-1],), gamma, beta, attrs.get("eps", 1e-5))


def _transpose(ins, attrs):
    x = ins[0]
    perm = attrs.get("perm")
    if not perm:
        perm = list(range(x.dim()))
        perm[-2], perm[-1] = perm[-1], perm[-2]
    return x.permute(*perm)


def _slice(ins, attrs):
    x = ins[0]
    axis = attrs.get("axis", 0) % x.dim()
    idx = [slice(None)] * x.dim()
    end = attrs.get("end", None)
    idx[axis] = slice(attrs.get("start", 0), end, attrs.get("step", 1))
    return x[tuple(idx)]


def _cross_entropy(ins, attrs):
    logits, labels = ins
    return F.cross_entropy(logits, labels.long(), ignore_index=-1, reduction="mean")


FUNCS = {
    "neg": lambda i, a: -i[0],
    "exp": lambda i, a: torch.exp(i[0]),
    "log": lambda i, a: torch.log(i[0]),
    "sqrt": lambda i, a: torch.sqrt(i[0]),
    "rsqrt": lambda i, a: torch.rsqrt(i[0]),
    "abs": lambda i, a: torch.abs(i[0]),
    "square": lambda i, a: i[0] * i[0],
    "relu": lambda i, a: torch.relu(i[0]),
    "gelu": lambda i, a: F.gelu(i[0]),
    "tanh": lambda i, a: torch.tanh(i[0]),
    "sigmoid": lambda i, a: torch.sigmoid(i[0]),
    "affine_scalar": lambda i, a: i[0] * a.get("scale", 1.0) + a.get("bias", 0.0),
    "cast": lambda i, a: i[0].to(DTYPES[a["dtype"]]),
    "zeros_like": lambda i, a: torch.zeros_like(i[0]),
    "ones_like": lambda i, a: torch.ones_like(i[0]),
    "add": lambda i, a: i[0] + i[1],
    "sub": lambda i, a: i[0] - i[1],
    "mul": lambda i, a: i[0] * i[1],
    "div": lambda i, a: i[0] / i[1],
    "maximum": lambda i, a: torch.maximum(i[0], i[1]),
    "minimum": lambda i, a: torch.minimum(i[0], i[1]),
    "pow": lambda i, a: torch.pow(i[0], i[1]),
    "sum": _reduce("sum"),
    "mean": _reduce("mean"),
    "max": _reduce("max"),
    "argmax": lambda i, a: torch.argmax(i[0], dim=a.get("axis", -1)),
    "broadcast_to": lambda i, a: torch.broadcast_to(i[0], tuple(a["shape"])),
    "sum_to": _sum_to,
    "softmax": lambda i, a: torch.softmax(i[0], dim=a.get("axis", -1)),
    "log_softmax": lambda i, a: torch.log_softmax(i[0], dim=a.get("axis", -1)),
    "layer_norm": _layer_norm,
    "reshape": lambda i, a: i[0].reshape(a["shape"]),
    "transpose": _transpose,
    "concat": lambda i, a: torch.cat(i, dim=a.get("axis", 0)),
    "split": lambda i, a: torch.split(i[0], list(a["sizes"]), dim=a.get("axis", 0)),
    "slice": _slice,
    "cross_entropy": _cross_entropy,
    "bce_with_logits": lambda i, a: F.binary_cross_entropy_with_logits(i[0], i[1]),
    "mse": lambda i, a: F.mse_loss(i[0], i[1]),
}
