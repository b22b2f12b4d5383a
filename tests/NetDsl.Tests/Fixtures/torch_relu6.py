#!/usr/bin/python3
"""PyTorch reference for Networks/ops_relu6.net (see torchref.py). Inputs are scaled by the 1x1 conv so that
some values pass 6 only if the conv weights are large; the check is on values inside (0, 6) and clipped at 0."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchref import both, write


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 1)
        self.fc1 = nn.Linear(4 * 5 * 5, 3)

    def forward(self, x, label):
        y = self.fc1(torch.flatten(F.relu6(self.conv1(x)), 1))
        return y, F.cross_entropy(y, label)


X = [{"name": "x", "shape": [2, 3, 5, 5]}, {"name": "label", "shape": [2], "int": [0, 2]}]
write("relu6", both("OpRelu6", Head, X))
