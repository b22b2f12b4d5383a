#!/usr/bin/python3
"""Parameter counts of examples/Generative/*.net from PyTorch 1.13 modules of the same configuration."""
import torch.nn as nn


def count(m):
    return sum(p.numel() for p in m.parameters())


autoencoder = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 64), nn.ReLU(),
                            nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 784), nn.Sigmoid())


class VAE(nn.Module):   # pytorch/examples vae/main.py
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400); self.fc21 = nn.Linear(400, 20); self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400); self.fc4 = nn.Linear(400, 784)


decoder = nn.Sequential(nn.Linear(20, 400), nn.ReLU(), nn.Linear(400, 784))
w = 64
generator = nn.Sequential(nn.Linear(100, 2 * w * 7 * 7, bias=False), nn.Unflatten(1, (2 * w, 7, 7)), nn.BatchNorm2d(2 * w), nn.ReLU(),
                          nn.ConvTranspose2d(2 * w, w, 4, 2, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(),
                          nn.ConvTranspose2d(w, 1, 4, 2, 1), nn.Tanh())
discriminator = nn.Sequential(nn.Conv2d(1, w, 4, 2, 1), nn.LeakyReLU(0.2),
                              nn.Conv2d(w, 2 * w, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * w), nn.LeakyReLU(0.2),
                              nn.Flatten(), nn.Linear(2 * w * 7 * 7, 1))


class ResBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.InstanceNorm2d(c), nn.ReLU(),
                                  nn.Conv2d(c, c, 3, padding=1), nn.InstanceNorm2d(c))


def cycle_generator(channels=3, width=32, blocks=2):
    return nn.Sequential(nn.Conv2d(channels, width, 7, padding=3), nn.InstanceNorm2d(width), nn.ReLU(),
                         nn.Conv2d(width, 2 * width, 3, 2, 1), nn.InstanceNorm2d(2 * width), nn.ReLU(),
                         *[ResBlock(2 * width) for _ in range(blocks)],
                         nn.ConvTranspose2d(2 * width, width, 3, 2, 1, output_padding=1), nn.InstanceNorm2d(width), nn.ReLU(),
                         nn.Conv2d(width, channels, 7, padding=3), nn.Tanh())


for name, m in [("Autoencoder", autoencoder), ("Vae", VAE()), ("VaeDecoder", decoder), ("DcganGenerator", generator),
                ("DcganDiscriminator", discriminator), ("CycleGenerator", cycle_generator())]:
    print(f"{name}: {count(m):,}")
