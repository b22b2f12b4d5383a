#!/usr/bin/python3
"""PyTorch references for Networks/ops_activations.net (see torchref.py)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchref import both, write


class Head(nn.Module):
    """conv 1x1 (3 -> 4) -> activation -> flatten -> linear(3), cross-entropy: the shape of every activation case."""
    def __init__(self, act):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 1)
        self.fc1 = nn.Linear(4 * 5 * 5, 3)
        self.act = act

    def forward(self, x, label):
        y = self.fc1(torch.flatten(self.act(self.conv1(x)), 1))
        return y, F.cross_entropy(y, label)


class PReluHead(nn.Module):
    """conv 1x1 -> PReLU (registered as prelu1, between conv1 and fc1 like the .net file) -> flatten -> linear(3)."""
    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 1)
        self.prelu1 = nn.PReLU(num_parameters=4 if channels else 1)
        self.fc1 = nn.Linear(4 * 5 * 5, 3)

    def forward(self, x, label):
        y = self.fc1(torch.flatten(self.prelu1(self.conv1(x)), 1))
        return y, F.cross_entropy(y, label)


class MaxoutHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 1)
        self.fc1 = nn.Linear(2 * 5 * 5, 3)

    def forward(self, x, label):
        h = self.conv1(x)
        h = h.view(h.shape[0], 2, 3, 5, 5).max(dim=2).values   # maxout(3): channel groups c*3 .. c*3+2
        y = self.fc1(torch.flatten(h, 1))
        return y, F.cross_entropy(y, label)


X = [{"name": "x", "shape": [2, 3, 5, 5]}, {"name": "label", "shape": [2], "int": [0, 2]}]
cases = []
cases += both("OpLeakyRelu", lambda: Head(lambda t: F.leaky_relu(t, 0.1)), X)
cases += both("OpElu", lambda: Head(lambda t: F.elu(t, 0.7)), X)
cases += both("OpEluNegativeAlpha", lambda: Head(lambda t: F.elu(t, -0.5)), X)
cases += both("OpSelu", lambda: Head(F.selu), X)
cases += both("OpGelu", lambda: Head(F.gelu), X)
cases += both("OpGeluTanh", lambda: Head(lambda t: F.gelu(t, approximate="tanh")), X)
cases += both("OpSilu", lambda: Head(F.silu), X)
cases += both("OpSwish", lambda: Head(F.silu), X)
cases += both("OpSoftplus", lambda: Head(lambda t: F.softplus(t, beta=2.0, threshold=1.5)), X)


class PrescaledHead(Head):
    def forward(self, x, label):
        return super().forward(8.0 * x, label)


class NoBiasHead(Head):
    def __init__(self, act):
        super().__init__(act)
        self.conv1 = nn.Conv2d(3, 4, 1, bias=False)


# PyTorch's documented hardsigmoid, relu6(x + 3)/6: torch's own float64 hardsigmoid backward multiplies by a float32 1/6
# (3e-8 relative), which NetDsl does not copy
cases += both("OpHardSigmoid", lambda: PrescaledHead(lambda t: F.relu6(t + 3) / 6), X)
cases += both("OpHardswish", lambda: PrescaledHead(F.hardswish), X)
cases += both("OpPRelu", lambda: PReluHead(False), X)
cases += both("OpPReluChannels", lambda: PReluHead(True), X)
cases += both("OpSoftmaxChannels", lambda: Head(lambda t: F.softmax(t, dim=1)), X)
cases += both("OpLogSoftmaxLast", lambda: NoBiasHead(lambda t: F.log_softmax(t, dim=-1)), X)
cases += both("OpMaxout", MaxoutHead, X)
write("activations", cases)
