#!/usr/bin/env python3
"""PyTorch peer of the side-by-side benchmark (benchmarks/NetDsl.SideBySide runs it; see benchmarks/README.md).

  peer.py serve --threads 2          JSON-lines server on stdin/stdout, so the harness can interleave rounds:
                                      {"cmd":"warmup","model":M,"seconds":S,"min_steps":K} -> {"steps":n}
                                      {"cmd":"run","model":M,"steps":N} -> {"ms":[t1..tN]} (each step timed alone)
                                      {"cmd":"info"} -> torch version, threads, BLAS actually loaded, settings
  peer.py memory --model M --steps N  a fresh process: builds M, runs N training steps, prints peak RSS (VmHWM) and the
                                      RSS just before building the model (after importing torch), in bytes
  peer.py export --out DIR            writes the inference models as ONNX (torch.onnx.export, opset 17, eval mode)

One training step = zero_grad, forward, cross-entropy, backward, SGD (lr 0.01, momentum 0.9) step; fp32, CPU, random
data with a fixed seed. The environment (OPENBLAS_CORETYPE, GOMP_SPINCOUNT, OMP_WAIT_POLICY, LD_LIBRARY_PATH for the
OpenMP build of OpenBLAS) is set by the harness per setting; --threads sets torch.set_num_threads.
"""
import argparse, json, os, sys, time

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
        if stride != 1 or cin != cout:   # projection shortcut (1x1 conv + BN), as examples/Models/resnet20.net
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + self.shortcut(x))


class ResNet20(nn.Module):
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
    """One post-norm transformer encoder block (d 256, 4 heads, FFN 1024, ReLU, no dropout), mean over T, linear to 10."""
    def __init__(self, d=256, heads=4):
        super().__init__()
        self.block = nn.TransformerEncoderLayer(d, heads, dim_feedforward=4 * d, dropout=0.0, batch_first=True)
        self.fc = nn.Linear(d, 10)

    def forward(self, x):
        return self.fc(self.block(x).mean(dim=1))


def resnet50():
    import torchvision
    return torchvision.models.resnet50()


MODELS = {   # name: (constructor, training batch, input shape without batch, classes)
    "lenet5": (lenet5, 64, (1, 28, 28), 10),
    "mlp": (mlp, 128, (784,), 10),
    "resnet20": (ResNet20, 64, (3, 32, 32), 10),
    "transformer": (EncoderClassifier, 16, (128, 256), 10),
    "resnet50": (resnet50, 16, (3, 224, 224), 1000),
}


def setup(name):
    ctor, batch, shape, classes = MODELS[name]
    torch.manual_seed(1)
    model = ctor()
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.rand(batch, *shape)
    y = torch.randint(0, classes, (batch,))
    return model, opt, x, y


def setup_gemm(n=1024):
    """The GEMM row: y = x·wᵀ with x, w of n×n (F.linear, as NetDsl's linear kernel), no autograd."""
    torch.manual_seed(1)
    return None, None, torch.rand(n, n), torch.rand(n, n)


def gemm_step(model, opt, x, w):
    with torch.no_grad():
        return F.linear(x, w)


def step(model, opt, x, y):
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss


def status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def loaded_blas():
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
        return ", ".join(sorted(os.path.realpath(l) for l in libs)) or "none"
    except OSError:
        return "unknown"


def serve(args):
    torch.set_num_threads(args.threads)
    cache = {}
    out = sys.stdout
    for line in sys.stdin:
        req = json.loads(line)
        cmd = req["cmd"]
        if cmd == "quit":
            break
        if cmd == "info":
            resp = {"torch": torch.__version__, "threads": torch.get_num_threads(), "blas": loaded_blas(),
                    "env": {k: os.environ.get(k, "") for k in ("OPENBLAS_CORETYPE", "GOMP_SPINCOUNT", "OMP_WAIT_POLICY", "LD_LIBRARY_PATH")}}
        elif cmd in ("warmup", "run"):
            name = req["model"]
            if name not in cache:
                cache.clear()   # one model at a time keeps the server's memory small
                cache[name] = setup_gemm() if name == "gemm" else setup(name)
            m = cache[name]
            run_step = gemm_step if name == "gemm" else step
            if cmd == "warmup":
                t_end = time.perf_counter() + req.get("seconds", 1.0); n = 0
                t_cap = time.perf_counter() + max(20.0, req.get("seconds", 1.0))
                while (n < req.get("min_steps", 5) or time.perf_counter() < t_end) and not (n >= 3 and time.perf_counter() >= t_cap):
                    run_step(*m); n += 1
                resp = {"steps": n}
            else:
                ms = []
                for _ in range(req["steps"]):
                    t0 = time.perf_counter(); run_step(*m); ms.append((time.perf_counter() - t0) * 1e3)
                resp = {"ms": ms}
        else:
            resp = {"error": f"unknown command {cmd}"}
        out.write(json.dumps(resp) + "\n"); out.flush()


def memory(args):
    torch.set_num_threads(args.threads)
    base = status_kb("VmRSS")
    m = setup(args.model)
    for _ in range(args.steps):
        step(*m)
    print(json.dumps({"peak_rss": status_kb("VmHWM") * 1024, "base_rss": base * 1024}), flush=True)


def export(args):
    """ONNX models for the inference comparison: eval mode, opset 17, a fixed batch per file (name_b<batch>.onnx)."""
    os.makedirs(args.out, exist_ok=True)
    todo = [("lenet5", 1), ("lenet5", 64), ("mlp", 1), ("mlp", 64), ("resnet20", 1), ("resnet20", 64),
            ("transformer", 1), ("transformer", 64), ("resnet50", 1), ("resnet50", 8)]
    for name, batch in todo:
        path = os.path.join(args.out, f"{name}_b{batch}.onnx")
        if os.path.exists(path):
            continue
        ctor, _, shape, _ = MODELS[name]
        torch.manual_seed(1)
        model = ctor().eval()
        x = torch.rand(batch, *shape)
        # with gradients enabled: under no_grad, eval-mode nn.TransformerEncoderLayer takes its fused fast path
        # (aten::_transformer_encoder_layer_fwd), which has no ONNX export; the exported graph is the same math
        torch.onnx.export(model, (x,), path, opset_version=17, input_names=["input"], output_names=["logits"],
                          do_constant_folding=True)
        print(json.dumps({"model": name, "batch": batch, "path": path}), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["serve", "memory", "export"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--model", default="lenet5")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--out", default="benchmarks/results/onnx")
    args = ap.parse_args()
    {"serve": serve, "memory": memory, "export": export}[args.mode](args)


if __name__ == "__main__":
    main()
