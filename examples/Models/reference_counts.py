#!/usr/bin/python3
"""Parameter counts of the example networks from an independent implementation: torchvision 0.14 where it has
the model, otherwise the PyTorch modules below written from the papers. ExampleNetworkTests asserts that
`netdsl summary` prints the same numbers. Run: /usr/bin/python3 examples/Models/reference_counts.py
(Debian: apt-get install python3-torch python3-torchvision)."""
import torch
import torch.nn as nn
import torchvision.models as tv


def count(m):
    return sum(p.numel() for p in m.parameters())


def alexnet_single_tower(classes=1000):
    return nn.Sequential(
        nn.Conv2d(3, 96, 11, 4), nn.ReLU(), nn.LocalResponseNorm(5, 1e-4, 0.75, 2.0), nn.MaxPool2d(3, 2),
        nn.Conv2d(96, 256, 5, padding=2), nn.ReLU(), nn.LocalResponseNorm(5, 1e-4, 0.75, 2.0), nn.MaxPool2d(3, 2),
        nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(), nn.Conv2d(384, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2), nn.Flatten(),
        nn.Dropout(), nn.Linear(9216, 4096), nn.ReLU(), nn.Dropout(), nn.Linear(4096, 4096), nn.ReLU(),
        nn.Linear(4096, classes))


class Basic(nn.Module):
    def __init__(self, cin, c, stride):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(cin, c, 3, stride, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
                                  nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c))
        self.short = (nn.Sequential(nn.Conv2d(cin, c, 1, stride, bias=False), nn.BatchNorm2d(c))
                      if stride != 1 or cin != c else nn.Identity())

    def forward(self, x):
        return torch.relu(self.body(x) + self.short(x))


def resnet20_option_b(classes=10, n=3):
    layers, cin = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()], 16
    for c, s in [(16, 1), (32, 2), (64, 2)]:
        for i in range(n):
            layers.append(Basic(cin, c, s if i == 0 else 1))
            cin = c
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, classes))


def mobilenet_v1(classes=1000):
    def dw(cin, c, s):
        return [nn.Conv2d(cin, cin, 3, s, 1, groups=cin, bias=False), nn.BatchNorm2d(cin), nn.ReLU(),
                nn.Conv2d(cin, c, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU()]
    layers, cin = [nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU()], 32
    for c, s in [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]:
        layers += dw(cin, c, s)
        cin = c
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1024, classes))


class SEBottleneck(nn.Module):
    def __init__(self, cin, c, stride):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, c, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
            nn.Conv2d(c, c, 3, stride, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
            nn.Conv2d(c, 4 * c, 1, bias=False), nn.BatchNorm2d(4 * c))
        self.se = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * c, 4 * c // 16), nn.ReLU(),
                                nn.Linear(4 * c // 16, 4 * c), nn.Sigmoid())
        self.short = (nn.Sequential(nn.Conv2d(cin, 4 * c, 1, stride, bias=False), nn.BatchNorm2d(4 * c))
                      if stride != 1 or cin != 4 * c else nn.Identity())

    def forward(self, x):
        y = self.body(x)
        return torch.relu(y * self.se(y)[:, :, None, None] + self.short(x))


def se_resnet50(classes=1000):
    layers, cin = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1)], 64
    for c, n, s in [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]:
        for i in range(n):
            layers.append(SEBottleneck(cin, c, s if i == 0 else 1))
            cin = 4 * c
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2048, classes))


class NonLocal(nn.Module):
    """Embedded-Gaussian non-local block (Wang et al. 2018, Figure 2) with batchnorm after W_z."""
    def __init__(self, c):
        super().__init__()
        self.theta, self.phi, self.g = nn.Conv2d(c, c // 2, 1), nn.Conv2d(c, c // 2, 1), nn.Conv2d(c, c // 2, 1)
        self.w = nn.Sequential(nn.Conv2d(c // 2, c, 1), nn.BatchNorm2d(c))

    def forward(self, x):
        n, c, h, w = x.shape
        t, p, g = (m(x).flatten(2) for m in (self.theta, self.phi, self.g))
        f = torch.softmax(t.transpose(1, 2) @ p, -1)
        return x + self.w((g @ f.transpose(1, 2)).reshape(n, c // 2, h, w))


def nonlocal_resnet18(classes=1000):
    r = tv.resnet18(num_classes=classes)
    r.layer3 = nn.Sequential(r.layer3[0], NonLocal(256), r.layer3[1])
    return r


def unet(classes=2, cin=1, w=64):
    def double(i, o):
        return nn.Sequential(nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(),
                             nn.Conv2d(o, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU())
    mods = [double(cin, w), double(w, 2 * w), double(2 * w, 4 * w), double(4 * w, 8 * w), double(8 * w, 16 * w)]
    for c in (8 * w, 4 * w, 2 * w, w):   # up-conv halves the channels, concat doubles them back, double conv
        mods += [nn.ConvTranspose2d(2 * c, c, 2, stride=2), double(2 * c, c)]
    mods.append(nn.Conv2d(w, classes, 1))
    return nn.ModuleList(mods)


REFERENCE = {
    "AlexNet (single tower, paper channels)": lambda: alexnet_single_tower(),
    "VGG11": tv.vgg11, "VGG13": tv.vgg13, "VGG16": tv.vgg16, "VGG19": tv.vgg19,
    "ResNet18": tv.resnet18, "ResNet34": tv.resnet34, "ResNet50": tv.resnet50, "ResNet101": tv.resnet101,
    "ResNet152": tv.resnet152, "ResNet20 (option B)": resnet20_option_b,
    "GoogLeNet (no aux)": lambda: tv.googlenet(aux_logits=False, init_weights=True),
    "GoogLeNetAux": lambda: tv.googlenet(aux_logits=True, init_weights=True),
    "DenseNet121": tv.densenet121, "MobileNetV1": mobilenet_v1, "MobileNetV2": tv.mobilenet_v2,
    "SEResNet50": se_resnet50, "EfficientNetB0": tv.efficientnet_b0,
    "NonLocalResNet18": nonlocal_resnet18, "UNet": unet,
}

if __name__ == "__main__":
    for name, make in REFERENCE.items():
        print(f"{name:40s} {count(make()):>14,}")
