#!/usr/bin/python3
"""Reference values from PyTorch (an independent implementation) for the networks in
tests/NetDsl.Tests/Networks and examples/Mnist/lenet5.net.

Parameters and inputs are not random: both sides compute them from the same formula (see
Deterministic.cs), so the fixtures only hold results: logits, the loss, and per-parameter gradient
checksums plus sampled entries. Computed in float64 (and float32 for the fp32 comparison).

Run with Debian's PyTorch 1.13 (apt-get install python3-torch):
    /usr/bin/python3 tests/NetDsl.Tests/Fixtures/make_torch_fixtures.py
"""
import json
import math
import os
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


def param_value(k, shape, is_bias, fan_in):
    """The k-th parameter (file order): sin(0.731 i + 1.37 k) scaled by 1/sqrt(fan_in) (0.1 for biases)."""
    n = math.prod(shape)
    scale = 0.1 if is_bias else 1.0 / math.sqrt(fan_in)
    v = [math.sin(0.731 * i + 1.37 * k) * scale for i in range(n)]
    return torch.tensor(v, dtype=torch.float64).reshape(shape)


def input_value(shape):
    n = math.prod(shape)
    return torch.tensor([math.sin(0.1 * i) + 0.5 * math.cos(0.37 * i) for i in range(n)], dtype=torch.float64).reshape(shape)


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc2(F.relu(self.fc1(x))))
        return self.fc3(x)


class AllOps(nn.Module):
    """tests/NetDsl.Tests/Networks/allops.net in eval mode (dropout is the identity)."""
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(2, 4, 3, padding=1, bias=False)
        self.conv3 = nn.Conv2d(12, 6, 1)
        self.fc1 = nn.Linear(192, 6)
        self.fc2 = nn.Linear(6, 3)

    def forward(self, x):
        c = F.relu(self.conv1(x)) + torch.tanh(self.conv2(x))
        d = torch.cat([F.max_pool2d(c, 2), F.avg_pool2d(c, 2), F.avg_pool2d(c, 3, stride=2, padding=1, count_include_pad=True)], 1)
        e = torch.sigmoid(self.conv3(d)).mean(dim=(2, 3))
        f = torch.tanh(self.fc1(torch.flatten(d, 1)))
        g = F.relu(e + f)
        return self.fc2(g)


class TinyMlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(16, 8)
        self.fc2 = nn.Linear(8, 2, bias=False)

    def forward(self, x):
        return self.fc2(torch.sigmoid(self.fc1(torch.flatten(x, 1))))


def fixture(name, model, x_shape, labels, dtype):
    model = model.to(dtype)
    with torch.no_grad():
        for k, (pname, p) in enumerate(model.named_parameters()):
            is_bias = pname.endswith("bias")
            fan_in = 1 if is_bias else math.prod(p.shape[1:])
            p.copy_(param_value(k, tuple(p.shape), is_bias, fan_in).to(dtype))
    x = input_value(x_shape).to(dtype)
    y = torch.tensor(labels)
    logits = model(x)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    grads = {}
    for pname, p in model.named_parameters():
        g = p.grad.detach().to(torch.float64).flatten()
        n = g.numel()
        idx = sorted({(j * 7919) % n for j in range(16)})
        grads[pname] = {"sum": g.sum().item(), "sumsq": (g * g).sum().item(), "samples": [[i, g[i].item()] for i in idx]}
    return {
        "network": name, "dtype": str(dtype).replace("torch.", ""), "torch": torch.__version__,
        "input_shape": list(x_shape), "labels": labels,
        "logits": logits.detach().to(torch.float64).flatten().tolist(), "loss": loss.item(), "grads": grads,
    }


def main():
    out = []
    for dtype in (torch.float64, torch.float32):
        out.append(fixture("LeNet5", LeNet5(), (3, 1, 28, 28), [3, 8, 0], dtype))
        out.append(fixture("AllOps", AllOps(), (3, 2, 8, 8), [0, 2, 1], dtype))
        out.append(fixture("TinyMlp", TinyMlp(), (4, 1, 4, 4), [0, 1, 1, 0], dtype))
    path = os.path.join(HERE, "torch_reference.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    print(f"wrote {path}: {len(out)} fixtures")


if __name__ == "__main__":
    main()
