#!/usr/bin/python3
"""PyTorch references for Networks/ops_normalization.net (see torchref.py).

Training-mode batchnorm cases also record the running statistics after the one forward pass of the case (what
NetDsl's TrainStep does) and the eval-mode output with those statistics: OpReferenceTests checks the first,
NormalizationNetworkTests both.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchref import case, input_value, write

X = [{"name": "x", "shape": [2, 3, 5, 5]}, {"name": "label", "shape": [2], "int": [0, 2]}]
X1 = [{"name": "x", "shape": [4, 5]}, {"name": "label", "shape": [4], "int": [0, 2, 1, 2]}]


class Head(nn.Module):
    """[conv 1x1 (3 -> cout)] -> norm -> flatten -> linear(3), cross-entropy."""
    def __init__(self, name, norm, cout=4, conv=True, act=None, bias=True):
        super().__init__()
        if conv:
            self.conv1 = nn.Conv2d(3, cout, 1, bias=bias)
        setattr(self, name, norm)   # the .net's auto name (bn1, ln1, inorm1, gn1, lrn1), so parameter names match
        self.norm = lambda t: getattr(self, name)(t)
        self.fc1 = nn.Linear((cout if conv else 3) * 5 * 5, 3)
        self.act = act

    def forward(self, x, label):
        h = self.conv1(x) if hasattr(self, "conv1") else x
        h = self.norm(h)
        if self.act is not None:
            h = self.act(h)
        y = self.fc1(torch.flatten(h, 1))
        return y, F.cross_entropy(y, label)


class Mlp(nn.Module):
    """[flatten] -> linear(in -> 6) -> norm -> relu -> linear(3)."""
    def __init__(self, fin, name, norm, bias=True):
        super().__init__()
        self.fc1 = nn.Linear(fin, 6, bias=bias)
        setattr(self, name, norm)
        self.name = name
        self.fc2 = nn.Linear(6, 3)

    def forward(self, x, label):
        y = self.fc2(F.relu(getattr(self, self.name)(self.fc1(torch.flatten(x, 1)))))
        return y, F.cross_entropy(y, label)


def both(network, make, inputs, mode="eval"):
    cases = []
    for dt in (torch.float64, torch.float32):
        model = make()
        c = case(network, model, inputs, dt, mode)
        bufs = {k: v for k, v in model.named_buffers() if not k.endswith("num_batches_tracked")}
        if bufs:
            c["buffers"] = {k: v.detach().to(torch.float64).flatten().tolist() for k, v in bufs.items()}
            if mode == "train":
                model.eval()
                with torch.no_grad():
                    xs = [input_value(s["shape"], 0).to(dt) if "int" not in s else torch.tensor(s["int"]) for s in inputs]
                    c["eval_output"] = model(*xs)[0].to(torch.float64).flatten().tolist()
        cases.append(c)
    return cases


cases = []
cases += both("OpBatchNormTrain", lambda: Head("bn1", nn.BatchNorm2d(4), act=F.relu, bias=False), X, "train")
cases += both("OpBatchNormEval", lambda: Head("bn1", nn.BatchNorm2d(4, eps=1e-3), act=F.relu), X, "eval")
cases += both("OpBatchNorm1d", lambda: Mlp(5, "bn1", nn.BatchNorm1d(6, momentum=0.3), bias=False), X1, "train")
cases += both("OpBatchNormInput", lambda: Head("bn1", nn.BatchNorm2d(3), conv=False), X, "train")
cases += both("OpLayerNorm", lambda: Head("ln1", nn.LayerNorm([5, 5]), bias=False), X)
cases += both("OpLayerNormPlain", lambda: Mlp(75, "ln1", nn.LayerNorm(6, eps=1e-4, elementwise_affine=False)), X)
cases += both("OpInstanceNorm", lambda: Head("inorm1", nn.InstanceNorm2d(4), bias=False), X, "train")
cases += both("OpInstanceNormAffine", lambda: Head("inorm1", nn.InstanceNorm2d(4, affine=True), bias=False), X)
cases += both("OpGroupNorm", lambda: Head("gn1", nn.GroupNorm(2, 4)), X)
cases += both("OpLrn", lambda: Head("lrn1", nn.LocalResponseNorm(3, alpha=0.5, beta=0.75, k=2.0)), X)
cases += both("OpLrnEven", lambda: Head("lrn1", nn.LocalResponseNorm(4, alpha=0.8, beta=0.6, k=1.0), cout=5), X)
write("normalization", cases)
