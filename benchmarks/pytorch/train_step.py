#!/usr/bin/env python3
"""PyTorch side of the NetDsl training-step benchmark (benchmarks/NetDsl.Benchmarks runs this as a subprocess).

One step = forward, cross-entropy loss, backward, SGD (lr 0.01, momentum 0.9) step, on random data with a fixed seed,
fp32, CPU, torch.set_num_threads(2). Run with OPENBLAS_CORETYPE=SkylakeX (Debian's OpenBLAS otherwise picks a slow
kernel on this CPU). Prints one JSON object per model on stdout.

Timing: `--warmup` steps, then `--steps` steps each timed with time.perf_counter(); the median is reported (and p10/p90).
Peak memory: this Debian build of PyTorch has no Kineto, so the profiler's allocator timeline ([memory] events with
"Total Allocated") is not available. Instead: the growth of the process's peak resident memory (VmHWM, reset through
/proc/self/clear_refs) over building the model and running 3 steps, measured after a throw-away run of the same model
(so code pages and allocator arenas touched by these ops are already resident), in a child process with MALLOC_MMAP_THRESHOLD_=65536 so freed
tensors go back to the OS (not in the timed process: that setting slows every step). It counts everything the step keeps or touches: parameters, gradients,
momentum buffers, activations, temporaries, oneDNN scratch, Python objects; it is an upper bound on live tensor bytes.
"""
import argparse, gc, json, os, statistics, subprocess, sys, time

import torch
import torch.nn as nn
import torch.nn.functional as F


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def mlp():
    return nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 10))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False); self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False); self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:   # projection shortcut (1x1 conv + BN), "option B"
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + self.shortcut(x))


class ResNet20(nn.Module):
    """ResNet-20 for CIFAR-10 (He et al. 2016): 3x3 conv 16, 3 stages of 3 basic blocks (16, 32, 64), avg pool, fc 10."""
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, 1, 1, bias=False); self.bn = nn.BatchNorm2d(16)
        layers, cin = [], 16
        for cout, stride in [(16, 1), (32, 2), (64, 2)]:
            for i in range(3):
                layers.append(BasicBlock(cin, cout, stride if i == 0 else 1)); cin = cout
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = F.relu(self.bn(self.conv(x)))
        x = self.layers(x)
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


class EncoderClassifier(nn.Module):
    """One post-norm transformer encoder block (d 256, 4 heads, FFN 1024, ReLU, no dropout), mean over T, linear to 10 classes."""
    def __init__(self, d=256, heads=4):
        super().__init__()
        self.block = nn.TransformerEncoderLayer(d, heads, dim_feedforward=4 * d, dropout=0.0, batch_first=True)
        self.fc = nn.Linear(d, 10)

    def forward(self, x):
        return self.fc(self.block(x).mean(dim=1))


MODELS = {
    # name: (constructor, batch, input shape without batch)
    "lenet5": (lenet5, 64, (1, 28, 28)),
    "mlp": (mlp, 128, (784,)),
    "resnet20": (ResNet20, 64, (3, 32, 32)),
    "transformer": (EncoderClassifier, 16, (128, 256)),
}


def setup(name):
    ctor, batch, shape = MODELS[name]
    torch.manual_seed(1)
    model = ctor()
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.rand(batch, *shape)
    y = torch.randint(0, 10, (batch,))
    return model, opt, x, y, batch


def step(model, opt, x, y):
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss


def time_steps(name, warmup, steps):
    model, opt, x, y, batch = setup(name)
    for _ in range(warmup):
        step(model, opt, x, y)
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step(model, opt, x, y)
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    params = sum(p.numel() for p in model.parameters())
    return {"batch": batch, "parameters": params, "steps": steps, "ms_median": statistics.median(times),
            "ms_p10": times[len(times) // 10], "ms_p90": times[(len(times) * 9) // 10]}


def _status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def peak_memory(name):
    """Peak resident-memory growth of this process over building the model and 3 training steps (bytes)."""
    # touch the code and the allocator's arenas of these ops first: a throw-away copy of the same run
    model, opt, x, y, _ = setup(name)
    for _ in range(2):
        step(model, opt, x, y)
    del model, opt, x, y
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")                      # resets VmHWM (peak RSS) to the current RSS
    except OSError:
        return None
    base = _status_kb("VmRSS")
    model, opt, x, y, _ = setup(name)
    for _ in range(3):
        step(model, opt, x, y)
    peak = _status_kb("VmHWM")
    del model, opt, x, y
    gc.collect()
    return (peak - base) * 1024 if peak is not None and base is not None else None


def loaded_blas():
    """The BLAS library this process actually loaded (Debian's libblas.so.3 may be OpenBLAS or the slow reference BLAS)."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
        return ", ".join(sorted(os.path.realpath(l) for l in libs)) or "none"
    except OSError:
        return "unknown"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="lenet5,mlp,resnet20,transformer")
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--max-seconds", type=float, default=15.0, help="per model: fewer steps if a step is slow")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--memory-only", action="store_true", help="print {model: peak_bytes} (run with MALLOC_MMAP_THRESHOLD_)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.memory_only:
        print(json.dumps({name: peak_memory(name) for name in args.models.split(",")}), flush=True)
        return
    # peak memory in a child process: the small mmap threshold it needs would slow every step of the timed runs
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536")
    child = subprocess.run([sys.executable, os.path.abspath(__file__), "--memory-only", "--models", args.models,
                            "--threads", str(args.threads)], env=env, capture_output=True, text=True)
    try:
        peaks = json.loads(child.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        peaks = {}
    for name in args.models.split(","):
        # a probe step sizes the run so a slow model stays within --max-seconds
        model, opt, x, y, _ = setup(name)
        step(model, opt, x, y)
        t0 = time.perf_counter(); step(model, opt, x, y); probe = time.perf_counter() - t0
        del model, opt, x, y
        steps = max(20, min(args.steps, int(args.max_seconds / max(probe, 1e-6))))
        r = time_steps(name, args.warmup, steps)
        r.update({"model": name, "peak_bytes": peaks.get(name), "torch": torch.__version__,
                  "threads": torch.get_num_threads(), "blas": loaded_blas(), "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", "")})
        print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
