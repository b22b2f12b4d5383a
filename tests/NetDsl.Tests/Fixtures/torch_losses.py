#!/usr/bin/python3
"""PyTorch references for Networks/ops_losses.net (see torchref.py). Dropout-like ops are checked at eval (the identity)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchref import both, write


def focal(y, label, gamma, alpha):
    """Multi-class focal loss, mean over the batch: -alpha (1 - p_t)^gamma log p_t, p_t = softmax(y)[label]."""
    logp = F.log_softmax(y, dim=1).gather(1, label[:, None]).squeeze(1)
    return (-alpha * (1 - logp.exp()) ** gamma * logp).mean()


class Lin(nn.Module):
    """linear(6 -> 4) then a loss of (y, second input)."""
    def __init__(self, loss, post=None):
        super().__init__()
        self.fc1 = nn.Linear(6, 4)
        self.loss, self.post = loss, post

    def forward(self, x, t):
        y = self.fc1(x)
        if self.post is not None:
            y = self.post(y)
        return y, self.loss(y, t)


class Two(nn.Module):
    """linear(6 -> 5), tanh, linear(5 -> 4); the loss may read the weights (penalties)."""
    def __init__(self, loss):
        super().__init__()
        self.fc1 = nn.Linear(6, 5)
        self.fc2 = nn.Linear(5, 4)
        self.loss = loss

    def forward(self, x, t):
        y = self.fc2(torch.tanh(self.fc1(x)))
        return y, self.loss(self, y, t)


class ConvHead(nn.Module):
    def __init__(self, mid):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 1)
        self.fc1 = nn.Linear(4 * 5 * 5, 3)
        self.mid = mid

    def forward(self, x, label):
        y = self.fc1(torch.flatten(self.mid(self.conv1(x)), 1))
        return y, F.cross_entropy(y, label)


def l2(m):
    return sum((p * p).sum() for p in (m.fc1.weight, m.fc2.weight))


def l1(m):
    return sum(p.abs().sum() for p in (m.fc1.weight, m.fc2.weight))


XL = [{"name": "x", "shape": [3, 6]}, {"name": "label", "shape": [3], "int": [0, 3, 1]}]
XT = [{"name": "x", "shape": [3, 6]}, {"name": "target", "shape": [3, 4]}]
XC = [{"name": "x", "shape": [2, 3, 5, 5]}, {"name": "label", "shape": [2], "int": [0, 2]}]
W4 = [1.0, 2.0, 0.5, 1.5]

cases = []
cases += both("OpCrossEntropySmoothingWeights", lambda: Lin(
    lambda y, t: F.cross_entropy(y, t, weight=torch.tensor(W4, dtype=y.dtype), label_smoothing=0.1)), XL)
cases += both("OpCrossEntropySum", lambda: Lin(lambda y, t: F.cross_entropy(y, t, reduction="sum")), XL)
cases += both("OpNllLoss", lambda: Lin(lambda y, t: F.nll_loss(y, t, weight=torch.tensor([0.5, 1.0, 2.0, 1.0], dtype=y.dtype)),
                                       post=lambda y: F.log_softmax(y, dim=-1)), XL)
cases += both("OpHinge", lambda: Lin(lambda y, t: F.multi_margin_loss(y, t)), XL)
cases += both("OpHingeSquaredSum", lambda: Lin(lambda y, t: F.multi_margin_loss(y, t, p=2, margin=0.5, reduction="sum")), XL)
cases += both("OpFocal", lambda: Lin(lambda y, t: focal(y, t, 2.0, 0.25)), XL)
cases += both("OpMse", lambda: Lin(F.mse_loss), XT)
cases += both("OpL1LossSum", lambda: Lin(lambda y, t: F.l1_loss(y, t, reduction="sum")), XT)
cases += both("OpSmoothL1", lambda: Lin(lambda y, t: F.smooth_l1_loss(y, t, beta=0.5)), XT)
cases += both("OpLossPlusL2", lambda: Two(lambda m, y, t: F.cross_entropy(y, t) + 0.01 * l2(m)), XL)
cases += both("OpLossScaledElasticNet", lambda: Two(
    lambda m, y, t: 0.5 * F.mse_loss(y, t) + (0.002 * l1(m) + 0.01 * l2(m)) + 0.001 * l1(m)), XT)
cases += both("OpDropout2dEval", lambda: ConvHead(lambda h: F.dropout2d(h, 0.3, training=False)), XC)
cases += both("OpStochasticDepthEval", lambda: ConvHead(lambda h: h), XC)
write("losses", cases)
