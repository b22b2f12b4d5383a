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


X = [{"name": "x", "shape": [2, 3, 5, 5]}, {"name": "label", "shape": [2], "int": [0, 2]}]
cases = []
cases += both("OpLeakyRelu", lambda: Head(lambda t: F.leaky_relu(t, 0.1)), X)
write("activations", cases)
