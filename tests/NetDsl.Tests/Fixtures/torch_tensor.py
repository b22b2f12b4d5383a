#!/usr/bin/python3
"""PyTorch references for Networks/ops_tensor.net (see torchref.py)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchref import both, write


class Arith(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 5)
        self.fc2 = nn.Linear(6, 5)
        self.fc3 = nn.Linear(5, 3)

    def forward(self, x, label):
        a, b = self.fc1(x), self.fc2(x)
        y = 0.5 * a - b * a + (b - 1) + (2 - a) * 3 + a / 4 + (b - a * a) + (a + b)
        o = self.fc3(y)
        return o, F.cross_entropy(o, label)


class Broadcast(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 3, 1)
        self.fc1 = nn.Linear(24, 4)
        self.conv2 = nn.Conv2d(2, 1, 1)
        self.fc2 = nn.Linear(36, 3)

    def forward(self, x, label):
        h = self.conv1(x)
        s = self.fc1(torch.flatten(x, 1)).reshape(x.shape[0], 1, 1, 4)
        c = self.conv2(x)
        y = h * s + c - s
        z = y - h.mean(0) + 0.5 * c.sum(0) * y
        o = self.fc2(torch.flatten(z, 1))
        return o, F.cross_entropy(o, label)


class MatMul(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(12, 24)
        self.fc2 = nn.Linear(12, 24)
        self.fc3 = nn.Linear(12, 24)
        self.fc4 = nn.Linear(12, 30)
        self.fc5 = nn.Linear(12, 16)
        self.fc6 = nn.Linear(20, 3)

    def forward(self, x, label):
        n = x.shape[0]
        q = self.fc1(x).reshape(n, 4, 6)
        k = self.fc2(x).reshape(n, 6, 4)
        v = self.fc3(x).reshape(n, 4, 6)
        w = self.fc4(x).reshape(n, 6, 5).mean(0)
        u = self.fc5(x).reshape(n, 4, 4).sum(0)
        s = torch.matmul(q, k)
        o = torch.matmul(u, torch.matmul(s, v))
        r = torch.matmul(o, w)
        y = self.fc6(torch.flatten(r, 1))
        return y, F.cross_entropy(y, label)


class Views(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 1)
        self.fc1 = nn.Linear(56, 3)

    def forward(self, x, label):
        n = x.shape[0]
        h = self.conv1(x)
        p = h.permute(0, 2, 3, 1)
        f = p.flatten(2)
        s = f[:, :, 1:19:3]
        a, b = torch.split(h, [1, 3], 2)
        c = torch.cat([b, a], 2)
        u0, u1, u2 = torch.split(c, 2, 3)
        e = torch.cat([u2, u0, u1], 3)
        d = e.reshape(n, -1, 10)
        t = d.transpose(1, 2)[:, -4:]
        g = torch.cat([s, t], -1)
        o = self.fc1(torch.flatten(g, 1))
        return o, F.cross_entropy(o, label)


class Reduce(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 1)
        self.fc1 = nn.Linear(28, 3)

    def forward(self, x, label):
        h = self.conv1(x)
        m = h.mean((2, 3))
        s = h.sum(-1, keepdim=True)
        q = (h * s).sum((1, -1))
        k = torch.flatten(h.mean(1, keepdim=True), 1)
        o = self.fc1(torch.cat([m, q, k], 1))
        return o, F.cross_entropy(o, label)


class ScaleChannels(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 1)
        self.fc1 = nn.Linear(4, 2)
        self.fc2 = nn.Linear(2, 4)
        self.fc3 = nn.Linear(64, 3)

    def forward(self, x, label):
        h = self.conv1(x)
        s = torch.sigmoid(self.fc2(F.relu(self.fc1(h.mean((2, 3))))))
        y = h * s[:, :, None, None]
        o = self.fc3(torch.flatten(y, 1))
        return o, F.cross_entropy(o, label)


class Gram(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 1)
        self.fc1 = nn.Linear(16, 3)

    def forward(self, x, label):
        h = self.conv1(x)
        n, c, hh, ww = h.shape
        f = h.reshape(n, c, hh * ww)
        g = torch.bmm(f, f.transpose(1, 2)) / (c * hh * ww)
        o = self.fc1(torch.flatten(g, 1))
        return o, F.cross_entropy(o, label)


class Attn(nn.Module):
    def __init__(self, t, d, heads):
        super().__init__()
        self.t, self.d, self.heads = t, d, heads
        self.fc1 = nn.Linear(t * d, t * d)
        self.fc2 = nn.Linear(t * d, t * d)
        self.fc3 = nn.Linear(t * d, t * d)

    def forward(self, x):
        n, dh = x.shape[0], self.d // self.heads
        f = torch.flatten(x, 1)
        q, k, v = (fc(f).reshape(n, self.t, self.heads, dh).transpose(1, 2) for fc in (self.fc1, self.fc2, self.fc3))
        a = torch.sigmoid(torch.matmul(q, k.transpose(-2, -1)) * 0.5773502691896258)
        o = torch.matmul(a, v).transpose(1, 2).reshape(n, self.t, self.d)
        return o + x


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention1 = Attn(4, 6, 2)
        self.fc1 = nn.Linear(24, 3)

    def forward(self, x, label):
        o = self.fc1(torch.flatten(self.attention1(x), 1))
        return o, F.cross_entropy(o, label)


L = {"name": "label", "shape": [2], "int": [0, 2]}
cases = []
cases += both("OpArith", Arith, [{"name": "x", "shape": [2, 6]}, L])
cases += both("OpBroadcast", Broadcast, [{"name": "x", "shape": [2, 2, 3, 4]}, L])
cases += both("OpMatMul", MatMul, [{"name": "x", "shape": [2, 12]}, L])
cases += both("OpViews", Views, [{"name": "x", "shape": [2, 3, 4, 5]}, L])
cases += both("OpReduce", Reduce, [{"name": "x", "shape": [2, 3, 4, 5]}, L])
cases += both("OpScaleChannels", ScaleChannels, [{"name": "x", "shape": [2, 3, 4, 4]}, L])
cases += both("OpGram", Gram, [{"name": "x", "shape": [2, 3, 4, 5]}, L])
cases += both("OpAttention", Attention, [{"name": "x", "shape": [2, 4, 6]}, L])
write("tensor", cases)
