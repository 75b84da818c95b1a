#!/usr/bin/env python3
"""bench/cuda/torch_eager.py — the same cases as bench_cuda.cpp through Python PyTorch eager, a
cross-check of the LibTorch numbers (Python adds per-op interpreter overhead). Prints median us."""
import statistics
import time

import torch
import torch.nn.functional as F


def bench(fn, warm=3, reps=50):
    for _ in range(warm):
        fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        ts.append((time.perf_counter() - t0) * 1e6)
    return statistics.median(ts)


def main():
    dev = "cuda"
    torch.backends.cuda.matmul.allow_tf32 = False
    print(f"torch {torch.__version__} on {torch.cuda.get_device_name()}")
    n = 4096
    a, b = torch.randn(n, n, device=dev), torch.randn(n, n, device=dev)
    t = bench(lambda: a @ b, reps=20)
    print(f"torch_eager/gemm_4096   {t:10.1f} us  {2 * n**3 / t * 1e-6:.1f} TFLOP/s")
    s = (torch.randn(256, 1000, device=dev) * 3).requires_grad_()
    te = torch.randn(256, 1000, device=dev) * 3
    T = 4.0

    def kd():
        loss = F.kl_div(F.log_softmax(s / T, 1), F.softmax(te / T, 1), reduction="batchmean") * T * T
        return torch.autograd.grad(loss, [s])

    print(f"torch_eager/kd_loss     {bench(kd):10.1f} us")
    p = [torch.empty(sz, device=dev).uniform_(-0.1, 0.1).requires_grad_() for sz in
         [(6, 1, 5, 5), (6,), (16, 6, 5, 5), (16,), (120, 400), (120,), (84, 120), (84,), (10, 84), (10,)]]
    x = torch.randn(256, 1, 28, 28, device=dev)
    y = torch.randint(0, 10, (256,), device=dev)

    def lenet():
        h = F.max_pool2d(F.relu(F.conv2d(x, p[0], p[1], padding=2)), 2)
        h = F.max_pool2d(F.relu(F.conv2d(h, p[2], p[3])), 2).flatten(1)
        h = F.relu(F.linear(h, p[4], p[5]))
        h = F.relu(F.linear(h, p[6], p[7]))
        loss = F.cross_entropy(F.linear(h, p[8], p[9]), y)
        gs = torch.autograd.grad(loss, p)
        with torch.no_grad():
            for q, g in zip(p, gs):
                q.sub_(g * 0.01)

    print(f"torch_eager/lenet_step  {bench(lenet):10.1f} us")


if __name__ == "__main__":
    main()
