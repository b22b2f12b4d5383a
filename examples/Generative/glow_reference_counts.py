#!/usr/bin/python3
"""Parameter counts of examples/Generative/glow.net from its PyTorch twin (the modules of
tests/NetDsl.Tests/Fixtures/torch_flow.py): 2 levels x 4 steps of ActNorm -> InvConv -> Coupling."""
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "NetDsl.Tests", "Fixtures"))
import torch.nn as nn
from torch_flow import ActNorm, InvConv, Coupling


def glow(hidden):
    steps = [nn.Sequential(ActNorm(c), InvConv(c), Coupling(c, hidden)) for c in [4] * 4 + [8] * 4]
    return nn.Sequential(*steps)


for name, hidden in [("Glow", 64), ("GlowTiny", 8)]:
    print(name, sum(p.numel() for p in glow(hidden).parameters()))
