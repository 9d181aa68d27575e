"""PyTorch anchor of BENCH mlp: MLP 784-512-512-10 (ReLU), batch 128,
cross-entropy, Adam (lr 1e-3), training steps/s on fixed random data.
Mirrors bench-mlp.c."""
import torch_bench  # first: sets OPENBLAS_NUM_THREADS before torch loads

import torch  # noqa: E402

BATCH = 128


def main():
    args = torch_bench.parse_args(__doc__, steps=50, warmup=5)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 512), torch.nn.ReLU(),
        torch.nn.Linear(512, 512), torch.nn.ReLU(),
        torch.nn.Linear(512, 10))
    x = torch.randn(BATCH, 784)
    y = torch.randint(0, 10, (BATCH,))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    torch_bench.train("mlp", model, x, y, opt, args)


if __name__ == "__main__":
    main()
