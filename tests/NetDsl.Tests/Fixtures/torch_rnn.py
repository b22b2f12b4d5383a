#!/usr/bin/python3
"""PyTorch references for Networks/ops_rnn.net (see torchref.py): nn.Embedding, nn.RNN, nn.LSTM, nn.GRU (batch_first)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchref import both, write


class Head(nn.Module):
    """A recurrent layer (or embedding) named like the .net instance, then flatten (or mean over T) and fc1."""

    def __init__(self, name, layer, features, pool="flatten"):
        super().__init__()
        setattr(self, name, layer)
        self.name = name
        self.fc1 = nn.Linear(features, 3)
        self.pool = pool

    def forward(self, x, label):
        h = getattr(self, self.name)(x)
        if isinstance(h, tuple):
            h = h[0]
        h = torch.flatten(h, 1) if self.pool == "flatten" else h.mean(1)
        o = self.fc1(h)
        return o, F.cross_entropy(o, label)


class EmbedLstmGru(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding1 = nn.Embedding(5, 3)
        self.lstm1 = nn.LSTM(3, 4, batch_first=True)
        self.gru1 = nn.GRU(4, 3, batch_first=True, bidirectional=True)
        self.fc1 = nn.Linear(6 * 6, 3)

    def forward(self, ids, label):
        h = self.gru1(self.lstm1(self.embedding1(ids))[0])[0]
        o = self.fc1(torch.flatten(h, 1))
        return o, F.cross_entropy(o, label)


class LstmGruNoBias(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm1 = nn.LSTM(3, 4, batch_first=True, bias=False)
        self.gru1 = nn.GRU(4, 3, batch_first=True, bidirectional=True, bias=False)
        self.fc1 = nn.Linear(5 * 6, 3)

    def forward(self, x, label):
        h = self.gru1(self.lstm1(x)[0])[0]
        o = self.fc1(torch.flatten(h, 1))
        return o, F.cross_entropy(o, label)


def seq(n, t, d):
    return [{"name": "x", "shape": [n, t, d]}, {"name": "label", "shape": [n], "int": [i % 3 for i in range(n)]}]


cases = []
ids = [3, 0, 6, 3, 1, 2, 6, 6, 0, 5, 4, 3, 1, 1, 2]
cases += both("OpEmbedding", lambda: Head("embedding1", nn.Embedding(7, 4), 20),
              [{"name": "ids", "shape": [3, 5], "int": ids}, {"name": "label", "shape": [3], "int": [2, 0, 1]}])
cases += both("OpRnnTanh", lambda: Head("rnn1", nn.RNN(3, 4, batch_first=True), 20), seq(2, 5, 3))
cases += both("OpRnnReluBi2", lambda: Head("rnn1", nn.RNN(3, 4, num_layers=2, bidirectional=True, nonlinearity="relu", batch_first=True), 32),
              seq(3, 4, 3))
cases += both("OpLstm", lambda: Head("lstm1", nn.LSTM(3, 4, batch_first=True), 20), seq(2, 5, 3))
cases += both("OpLstmBi2", lambda: Head("lstm1", nn.LSTM(3, 3, num_layers=2, bidirectional=True, batch_first=True), 24), seq(3, 4, 3))
cases += both("OpGru", lambda: Head("gru1", nn.GRU(3, 4, batch_first=True), 20), seq(2, 5, 3))
cases += both("OpLstmGruNoBias", LstmGruNoBias, seq(2, 5, 3))
cases += both("OpGruBi2", lambda: Head("gru1", nn.GRU(3, 3, num_layers=2, bidirectional=True, batch_first=True), 24), seq(3, 4, 3))
cases += both("OpEmbedLstmGru", EmbedLstmGru,
              [{"name": "ids", "shape": [2, 6], "int": [1, 4, 4, 0, 2, 3, 3, 3, 1, 0, 4, 2]}, {"name": "label", "shape": [2], "int": [1, 2]}])
cases += both("OpLstmSymbolicT", lambda: Head("lstm1", nn.LSTM(3, 4, bidirectional=True, batch_first=True), 8, pool="mean"), seq(3, 7, 3))

class LstmState(nn.Module):
    """OpLstmState: nn.LSTM(x, (h0, c0)) with h0, c0 inputs; the loss reads y, h_n and c_n."""

    def __init__(self):
        super().__init__()
        self.lstm1 = nn.LSTM(3, 3, num_layers=2, batch_first=True)
        self.fc1 = nn.Linear(4 * 3 + 2 * 3 + 2 * 3, 3)

    def forward(self, x, h0, c0, label):
        y, (hn, cn) = self.lstm1(x, (h0, c0))
        f = torch.cat([torch.flatten(y, 1), torch.flatten(hn.permute(1, 0, 2), 1), torch.flatten(cn.permute(1, 0, 2), 1)], 1)
        o = self.fc1(f)
        return o, F.cross_entropy(o, label)


class GruStateBi(nn.Module):
    """OpGruStateBi: a bidirectional nn.GRU from h0 = linear(z) viewed [2, N, 4]; the loss reads y and h_n."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(2, 8)
        self.gru1 = nn.GRU(3, 4, bidirectional=True, batch_first=True)
        self.fc2 = nn.Linear(4 * 8 + 2 * 4, 3)

    def forward(self, x, z, label):
        h0 = self.fc1(z).reshape(-1, 2, 4).permute(1, 0, 2).contiguous()
        y, hn = self.gru1(x, h0)
        o = self.fc2(torch.cat([torch.flatten(y, 1), torch.flatten(hn.permute(1, 0, 2), 1)], 1))
        return o, F.cross_entropy(o, label)


class RnnState(nn.Module):
    """OpRnnState: a 2-layer tanh nn.RNN from h0 = linear(z) viewed [2, N, 3]; only h_n reaches the loss."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 6)
        self.rnn1 = nn.RNN(2, 3, num_layers=2, batch_first=True)
        self.fc2 = nn.Linear(6, 3)

    def forward(self, x, z, label):
        h0 = self.fc1(z).reshape(-1, 2, 3).permute(1, 0, 2).contiguous()
        _, hn = self.rnn1(x, h0)
        o = self.fc2(torch.flatten(hn.permute(1, 0, 2), 1))
        return o, F.cross_entropy(o, label)


class LstmCellOnly(nn.Module):
    """OpLstmCellOnly: nn.LSTM from computed (h0, c0); only c_n reaches the loss."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 3)
        self.fc2 = nn.Linear(3, 3)
        self.lstm1 = nn.LSTM(2, 3, batch_first=True)
        self.fc3 = nn.Linear(3, 3)

    def forward(self, x, z, label):
        h0 = self.fc1(z).reshape(1, -1, 3)
        c0 = self.fc2(z).reshape(1, -1, 3)
        _, (hn, cn) = self.lstm1(x, (h0, c0))
        o = self.fc3(cn.reshape(-1, 3))
        return o, F.cross_entropy(o, label)


def labels(n):
    return {"name": "label", "shape": [n], "int": [i % 3 for i in range(n)]}


cases += both("OpLstmState", LstmState,
              [{"name": "x", "shape": [3, 4, 3]}, {"name": "h0", "shape": [2, 3, 3]}, {"name": "c0", "shape": [2, 3, 3]}, labels(3)])
cases += both("OpGruStateBi", GruStateBi, [{"name": "x", "shape": [2, 4, 3]}, {"name": "z", "shape": [2, 2]}, labels(2)])
cases += both("OpRnnState", RnnState, [{"name": "x", "shape": [3, 3, 2]}, {"name": "z", "shape": [3, 3]}, labels(3)])
cases += both("OpLstmCellOnly", LstmCellOnly, [{"name": "x", "shape": [2, 3, 2]}, {"name": "z", "shape": [2, 3]}, labels(2)])
write("rnn", cases)
