#!/usr/bin/python3
"""PyTorch reference for Networks/ops_flow.net (see torchref.py): GLOW's actnorm, LU-parameterized invertible 1x1
convolution, affine coupling (sigmoid(log s + 2) scale, rosinality/glow-pytorch's form), squeeze and a standard normal
prior, written from the paper (Kingma & Dhariwal 2018) in plain PyTorch 1.13. The loss is the negative log-likelihood
-mean_n(log p(z_n) + sum of log-determinants_n); OpFlowStep divides it by D ln 2 (bits per dimension)."""
import math
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchref import both, write


def gaussian_log_prob(z):
    return (-0.5 * z * z - 0.5 * math.log(2 * math.pi)).flatten(1).sum(1)


class ActNorm(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))

    def forward(self, x, inverse=False):
        s, b = self.weight.view(1, -1, 1, 1), self.bias.view(1, -1, 1, 1)
        if inverse:
            return (x - b) / s
        ld = x.shape[2] * x.shape[3] * torch.log(torch.abs(self.weight)).sum()
        return x * s + b, ld.expand(x.shape[0])


class InvConv(nn.Module):
    """W = P L (U + diag(exp log_s)), P the fixed reversal permutation, L unit lower, U strictly upper."""
    def __init__(self, c):
        super().__init__()
        self.lower = nn.Parameter(torch.zeros(c, c))
        self.upper = nn.Parameter(torch.zeros(c, c))
        self.log_s = nn.Parameter(torch.zeros(c))
        p = torch.zeros(c, c)
        for i in range(c):
            p[i, c - 1 - i] = 1
        self.register_buffer("p", p)

    def weight(self):
        c = self.log_s.shape[0]
        eye = torch.eye(c, dtype=self.lower.dtype)
        l = torch.tril(self.lower, -1) + eye
        m = torch.triu(self.upper, 1) + torch.diag(torch.exp(self.log_s))
        return self.p.to(self.lower.dtype) @ l @ m

    def forward(self, x, inverse=False):
        c = self.log_s.shape[0]
        w = self.weight()
        if inverse:
            return F.conv2d(x, torch.inverse(w).view(c, c, 1, 1))
        ld = x.shape[2] * x.shape[3] * self.log_s.sum()
        return F.conv2d(x, w.view(c, c, 1, 1)), ld.expand(x.shape[0])


class Coupling(nn.Module):
    def __init__(self, c, hidden):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(c // 2, hidden, 3, padding=1), nn.ReLU(), nn.Conv2d(hidden, hidden, 1), nn.ReLU(),
                                 nn.Conv2d(hidden, c, 3, padding=1))

    def forward(self, x, inverse=False):
        xa, xb = x.chunk(2, 1)
        log_s, t = self.net(xa).chunk(2, 1)
        s = torch.sigmoid(log_s + 2)
        if inverse:
            return torch.cat([xa, xb / s - t], 1)
        return torch.cat([xa, (xb + t) * s], 1), torch.log(s).flatten(1).sum(1)


def squeeze(x):
    b, c, h, w = x.shape
    return x.view(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(b, c * 4, h // 2, w // 2)


def unsqueeze(x):
    b, c, h, w = x.shape
    return x.view(b, c // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3).reshape(b, c // 4, h * 2, w * 2)


def nll(logp, *lds):
    return -(logp + sum(lds)).mean()


class OneLayer(nn.Module):
    def __init__(self, make, attr):
        super().__init__()
        self.conv1 = nn.Conv2d(4, 4, 1)
        setattr(self, attr, make())
        self.attr = attr

    def forward(self, x):
        y, ld = getattr(self, self.attr)(self.conv1(x))
        return y, nll(gaussian_log_prob(y), ld)


class FlowStep(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 2, 1)
        self.actnorm1 = ActNorm(8)
        self.invconv1 = InvConv(8)
        self.coupling1 = Coupling(8, 5)

    def forward(self, x):
        h = squeeze(self.conv1(x))
        h, l1 = self.actnorm1(h)
        h, l2 = self.invconv1(h)
        h, l3 = self.coupling1(h)
        z1, z2 = h[:, :4], h[:, 4:]
        logp = gaussian_log_prob(z1) + gaussian_log_prob(z2)
        return z2, nll(logp, l1, l2, l3) / (32 * math.log(2))


class FlowInverse(nn.Module):
    def __init__(self):
        super().__init__()
        self.coupling1 = Coupling(4, 6)
        self.invconv1 = InvConv(4)
        self.actnorm1 = ActNorm(4)

    def forward(self, x):
        h = self.coupling1(x, inverse=True)
        h = self.invconv1(h, inverse=True)
        h = unsqueeze(self.actnorm1(h, inverse=True))
        return h, -gaussian_log_prob(h).mean()


if __name__ == "__main__":
    X = [{"name": "x", "shape": [2, 4, 3, 3]}]
    cases = []
    cases += both("OpActNorm", lambda: OneLayer(lambda: ActNorm(4), "actnorm1"), X)
    cases += both("OpInvConv", lambda: OneLayer(lambda: InvConv(4), "invconv1"), X)
    cases += both("OpCoupling", lambda: OneLayer(lambda: Coupling(4, 6), "coupling1"), X)
    cases += both("OpFlowStep", FlowStep, [{"name": "x", "shape": [2, 2, 4, 4]}])
    cases += both("OpFlowInverse", FlowInverse, [{"name": "x", "shape": [2, 4, 3, 4]}])
    write("flow", cases)
