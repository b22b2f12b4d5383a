#!/usr/bin/python3
"""Parameter counts of examples/Seq2Seq/seq2seq.net from PyTorch 1.13 modules of the same configuration."""
import torch.nn as nn


class Seq2Seq(nn.Module):
    def __init__(self, vocab=11, embed=32, hidden=128):
        super().__init__()
        self.embedding1 = nn.Embedding(vocab, embed)
        self.lstm1 = nn.LSTM(embed, hidden, batch_first=True)
        self.embedding2 = nn.Embedding(vocab, embed)
        self.lstm2 = nn.LSTM(embed, hidden, batch_first=True)
        self.fc1 = nn.Linear(2 * hidden, hidden)
        self.fc2 = nn.Linear(hidden, vocab)


for name, kw in [("Seq2Seq", {}), ("Seq2SeqTiny", {"embed": 16, "hidden": 32})]:
    print(name, sum(p.numel() for p in Seq2Seq(**kw).parameters()))
