#!/usr/bin/python3
"""PyTorch references for Networks/ops_generative.net (see torchref.py)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchref import both, write


class VaeEvalMean(nn.Module):
    """x -> tanh(fc1) -> (mu, logvar); z = mu (eval mode: sample_normal(eval: "mean")); sigmoid(fc4(z)); BCE sum + KL."""
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 8); self.fc2 = nn.Linear(8, 4); self.fc3 = nn.Linear(8, 4); self.fc4 = nn.Linear(4, 6)

    def forward(self, x, t):
        h = torch.tanh(self.fc1(x))
        mu, logvar = self.fc2(h), self.fc3(h)
        z = mu
        y = torch.sigmoid(self.fc4(z))
        kl = 0.5 * torch.sum(logvar.exp() + mu.pow(2) - 1 - logvar) / x.shape[0]   # per-sample sum, mean over the batch
        return y, F.binary_cross_entropy(y, t, reduction="sum") + kl


class Lin(nn.Module):
    def __init__(self, fn, n=4, act=None):
        super().__init__()
        self.fc1 = nn.Linear(6, n); self.fn = fn; self.act = act

    def forward(self, x, t):
        y = self.fc1(x)
        if self.act: y = self.act(y)
        return y, self.fn(y, t)


class TargetGrad(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 4); self.fc2 = nn.Linear(6, 4)

    def forward(self, x):
        y = self.fc1(x)
        t = torch.sigmoid(self.fc2(x))
        return y, F.binary_cross_entropy_with_logits(y, t)


class KlSum(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 4); self.fc2 = nn.Linear(6, 4)

    def forward(self, x):
        mu, logvar = self.fc1(x), self.fc2(x)
        return logvar, 0.5 * torch.sum(logvar.exp() + mu.pow(2) - 1 - logvar)


class GanD(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 1); self.fc2 = nn.Linear(6, 1)

    def forward(self, x, x2):
        a, b = self.fc1(x), self.fc2(x2)
        return a, F.binary_cross_entropy_with_logits(a, torch.ones_like(a)) + F.binary_cross_entropy_with_logits(b, torch.zeros_like(b))


class GanG(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 1); self.fc2 = nn.Linear(6, 1)

    def forward(self, x):
        a, b = self.fc1(x), self.fc2(x)
        non_saturating = -F.logsigmoid(a).mean()              # -log D(G(z))
        minimax = torch.log1p(-torch.sigmoid(b)).mean()       # log(1 - D(G(z)))
        return a, non_saturating + 0.5 * minimax


class Cycle(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 4); self.fc2 = nn.Linear(4, 4)

    def forward(self, x):
        a = self.fc1(x)
        b = self.fc2(torch.tanh(a))
        return a, F.l1_loss(b, a)


class Triplet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 5); self.fc2 = nn.Linear(6, 5); self.fc3 = nn.Linear(6, 5)

    def forward(self, x, xp, xn):
        a, p, n = self.fc1(x), self.fc2(xp), self.fc3(xn)
        return a, nn.TripletMarginLoss(margin=0.7, p=2)(a, p, n)


def nt_xent(z1, z2, tau):
    """SimCLR's NT-Xent: F.normalize rows of [z1; z2], cosine similarities / tau, self-similarity masked, mean over 2N rows."""
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    s = z @ z.t() / tau
    s = s.masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
    pos = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return F.cross_entropy(s, pos)


class NtXent(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 5); self.fc2 = nn.Linear(6, 5)

    def forward(self, x, x2):
        z1, z2 = self.fc1(x), self.fc2(x2)
        return z1, nt_xent(z1, z2, 0.5)


def distill(s, t, T, reduction="batchmean"):
    return F.kl_div(F.log_softmax(s / T, dim=1), F.softmax(t / T, dim=1), reduction=reduction) * T * T


X = [{"name": "x", "shape": [3, 6]}]
cases = []
cases += both("OpVaeEvalMean", VaeEvalMean, X + [{"name": "t", "shape": [3, 6]}])
cases += both("OpBce", lambda: Lin(F.binary_cross_entropy, act=torch.sigmoid), X + [{"name": "t", "shape": [3, 4]}])
cases += both("OpBceWithLogitsBatchMean", lambda: Lin(lambda y, t: F.binary_cross_entropy_with_logits(y, t, reduction="sum") / y.shape[0]),
              X + [{"name": "t", "shape": [3, 4]}])
cases += both("OpBceWithLogitsTargetGrad", TargetGrad, X)
cases += both("OpKlNormalSum", KlSum, X)
cases += both("OpGanDiscriminator", GanD, X + [{"name": "x2", "shape": [3, 6]}])
cases += both("OpGanGenerator", GanG, X)
cases += both("OpCycleL1", Cycle, X)
cases += both("OpTripletMargin", Triplet, X + [{"name": "xp", "shape": [3, 6]}, {"name": "xn", "shape": [3, 6]}])
cases += both("OpNtXent", NtXent, X + [{"name": "x2", "shape": [3, 6]}])
cases += both("OpDistill", lambda: Lin(lambda s, t: distill(s, t, 4.0) + 0.5 * distill(s, t, 2.0, "sum"), n=5),
              X + [{"name": "teacher", "shape": [3, 5]}])
write("generative", cases)
