"""PyTorch anchor of BENCH convnet: conv 1->16 3x3 pad 1, relu, maxpool 2,
conv 16->32 3x3 pad 1, relu, maxpool 2, linear 1568->128, relu,
linear 128->10 on 28x28 images, batch 64, cross-entropy, SGD (lr 0.01,
momentum 0.9), training steps/s on fixed random data. Mirrors
bench-convnet.c."""
import torch_bench  # first: sets OPENBLAS_NUM_THREADS before torch loads

import torch  # noqa: E402

BATCH = 64


def main():
    args = torch_bench.parse_args(__doc__, steps=30, warmup=3)
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 7 * 7, 128), nn.ReLU(),
        nn.Linear(128, 10))
    x = torch.randn(BATCH, 1, 28, 28)
    y = torch.randint(0, 10, (BATCH,))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    torch_bench.train("convnet", model, x, y, opt, args)


if __name__ == "__main__":
    main()
