#!/usr/bin/python3
"""PyTorch 1.13 references for Networks/ops_attention.net (see torchref.py).

PyTorch 1.13 has no F.scaled_dot_product_attention: the reference is written with matmul and softmax,
softmax(scale * Q K^T + mask) V with masked scores set to -inf (causal: key j > query i; lengths: key j >= lengths[n]).
Multi-head attention is nn.MultiheadAttention(batch_first=True) itself.
"""
import math
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchref import both, write


def sdpa(q, k, v, causal=False, scale=None, lengths=None):
    tq, tk = q.shape[-2], k.shape[-2]
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    s = torch.matmul(q, k.transpose(-2, -1)) * scale
    mask = torch.zeros(tq, tk, dtype=torch.bool)
    if causal:
        mask = mask | torch.triu(torch.ones(tq, tk, dtype=torch.bool), diagonal=1)
    mask = mask.expand(*q.shape[:-2], tq, tk)
    if lengths is not None:
        pad = torch.arange(tk)[None, :] >= lengths[:, None]            # [N, Tk]
        pad = pad.reshape(q.shape[0], *([1] * (q.dim() - 2)), tk)       # [N, 1, (1,) Tk]
        mask = mask | pad
    s = s.masked_fill(mask, float("-inf"))
    return torch.matmul(torch.softmax(s, -1), v)


def heads(t, h):
    n, tt, d = t.shape
    return t.reshape(n, tt, h, d // h).transpose(1, 2)


class Sdpa(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(6, 6), nn.Linear(6, 6, bias=False), nn.Linear(6, 6)
        self.fc4 = nn.Linear(24, 3)

    def forward(self, x, label):
        a = sdpa(heads(self.fc1(x), 2), heads(self.fc2(x), 2), heads(self.fc3(x), 2))
        o = self.fc4(torch.flatten(a, 1))
        return o, F.cross_entropy(o, label)


class SdpaCausal(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(5, 4), nn.Linear(3, 4, bias=False), nn.Linear(3, 2)
        self.fc4 = nn.Linear(6, 3)

    def forward(self, x, m, label):
        a = sdpa(self.fc1(x), self.fc2(m), self.fc3(m), causal=True, scale=0.7)
        o = self.fc4(torch.flatten(a, 1))
        return o, F.cross_entropy(o, label)


class SdpaLengths(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(6, 6), nn.Linear(6, 6)
        self.fc3 = nn.Linear(24, 3)

    def forward(self, x, lengths, label):
        k = heads(self.fc2(x), 2)
        a = sdpa(heads(self.fc1(x), 2), k, k, lengths=lengths)
        o = self.fc3(torch.flatten(a, 1))
        return o, F.cross_entropy(o, label)


class SelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn1 = nn.MultiheadAttention(6, 2, dropout=0.1, batch_first=True)
        self.fc1 = nn.Linear(24, 3)

    def forward(self, x, label):
        h = x + self.attn1(x, x, x, need_weights=False)[0]
        o = self.fc1(torch.flatten(h, 1))
        return o, F.cross_entropy(o, label)


class CausalSelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn1 = nn.MultiheadAttention(6, 3, bias=False, batch_first=True)
        self.fc1 = nn.Linear(24, 3)

    def forward(self, x, label):
        t = x.shape[1]
        causal = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)
        h = self.attn1(x, x, x, attn_mask=causal, need_weights=False)[0]
        o = self.fc1(torch.flatten(h, 1))
        return o, F.cross_entropy(o, label)


class CrossAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn1 = nn.MultiheadAttention(6, 2, batch_first=True)
        self.fc1 = nn.Linear(18, 3)

    def forward(self, x, mem, lengths, label):
        pad = torch.arange(mem.shape[1])[None, :] >= lengths[:, None]
        h = self.attn1(x, mem, mem, key_padding_mask=pad, need_weights=False)[0]
        o = self.fc1(torch.flatten(h, 1))
        return o, F.cross_entropy(o, label)


def sinusoid(t, d, dtype):
    pos = torch.arange(t, dtype=torch.float64)[:, None]
    div = torch.exp(torch.arange(0, d, 2, dtype=torch.float64) * (-math.log(10000.0) / d))
    pe = torch.zeros(t, d, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)[:, : d // 2]
    return pe.to(dtype)


class ClassToken(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1, 1, d))

    def forward(self, x):
        return torch.cat([self.weight.expand(x.shape[0], -1, -1), x], dim=1)


class Learned(nn.Module):
    def __init__(self, max_len, d):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(max_len, d))

    def forward(self, x):
        return x + self.weight[: x.shape[1]]


class Positions(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 6)
        self.pos1 = Learned(6, 6)
        self.cls1 = ClassToken(6)
        self.fc2 = nn.Linear(30, 3)

    def forward(self, x, label):
        h = self.fc1(x)
        h = h + sinusoid(h.shape[1], h.shape[2], h.dtype)
        h = self.cls1(self.pos1(h))
        o = self.fc2(torch.flatten(h, 1))
        return o, F.cross_entropy(o, label)


class PatchEmbed(nn.Module):
    def __init__(self):
        super().__init__()
        self.patch1 = nn.Conv2d(3, 4, 2, stride=2)
        self.cls1 = ClassToken(4)
        self.pos1 = Learned(7, 4)
        self.attn1 = nn.MultiheadAttention(4, 2, batch_first=True)
        self.fc1 = nn.Linear(28, 3)

    def forward(self, x, label):
        h = self.patch1(x).flatten(2).transpose(1, 2)
        h = self.pos1(self.cls1(h))
        h = h + self.attn1(h, h, h, need_weights=False)[0]
        o = self.fc1(torch.flatten(h, 1))
        return o, F.cross_entropy(o, label)


class Additive(nn.Module):
    def __init__(self, dq, dk, units):
        super().__init__()
        self.query = nn.Linear(dq, units, bias=False)
        self.key = nn.Linear(dk, units, bias=False)
        self.v = nn.Linear(units, 1, bias=False)

    def forward(self, q, keys):
        e = self.v(torch.tanh(self.key(keys) + self.query(q)[:, None, :])).squeeze(-1)   # [N, T]
        a = torch.softmax(e, -1)
        return torch.bmm(a[:, None, :], keys).squeeze(1)


class AdditiveAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(5, 5), nn.Linear(6, 6)
        self.additive1 = Additive(5, 6, 3)
        self.fc3 = nn.Linear(6, 3)

    def forward(self, q, keys, label):
        o = self.fc3(self.additive1(self.fc1(q), self.fc2(keys)))
        return o, F.cross_entropy(o, label)


L = {"name": "label", "shape": [2], "int": [0, 2]}
cases = []
cases += both("OpSdpa", Sdpa, [{"name": "x", "shape": [2, 4, 6]}, L])
cases += both("OpSdpaCausal", SdpaCausal, [{"name": "x", "shape": [2, 3, 5]}, {"name": "m", "shape": [2, 5, 3]}, L])
cases += both("OpSdpaLengths", SdpaLengths, [{"name": "x", "shape": [2, 4, 6]}, {"name": "lengths", "shape": [2], "int": [2, 4]}, L])
cases += both("OpSelfAttention", SelfAttention, [{"name": "x", "shape": [2, 4, 6]}, L])
cases += both("OpCausalSelfAttention", CausalSelfAttention, [{"name": "x", "shape": [2, 4, 6]}, L])
cases += both("OpCrossAttention", CrossAttention, [{"name": "x", "shape": [2, 3, 6]}, {"name": "mem", "shape": [2, 5, 6]},
                                                     {"name": "lengths", "shape": [2], "int": [3, 5]}, L])
cases += both("OpPositions", Positions, [{"name": "x", "shape": [2, 4, 6]}, L])
cases += both("OpPatchEmbed", PatchEmbed, [{"name": "x", "shape": [2, 3, 4, 6]}, L])
cases += both("OpAdditiveAttention", AdditiveAttention, [{"name": "q", "shape": [2, 5]}, {"name": "keys", "shape": [2, 4, 6]}, L])
write("attention", cases)
