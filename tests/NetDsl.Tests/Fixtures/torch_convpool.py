#!/usr/bin/python3
"""PyTorch references for Networks/ops_convpool.net (see torchref.py). Module attributes carry NetDsl's parameter names."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchref import both, write


class Net(nn.Module):
    """modules: (name, module) registered in .net order; body(self, x) -> features; then flatten -> fc1 (3 classes)."""
    def __init__(self, modules, body, features):
        super().__init__()
        for name, m in modules:
            setattr(self, name, m)
        self.fc1 = nn.Linear(features, 3)
        self.body = body

    def forward(self, x, label):
        y = self.fc1(torch.flatten(self.body(self, x), 1))
        return y, F.cross_entropy(y, label)


def X(*shape):
    return [{"name": "x", "shape": [2, *shape]}, {"name": "label", "shape": [2], "int": [0, 2]}]


cases = []
cases += both("OpConvStrideDilGroups", lambda: Net(
    [("conv1", nn.Conv2d(4, 4, 1)), ("conv2", nn.Conv2d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2))],
    lambda s, x: s.conv2(s.conv1(x)), 6 * 4 * 4), X(4, 9, 9))
cases += both("OpConvDepthwise", lambda: Net(
    [("conv1", nn.Conv2d(3, 3, 1)), ("conv2", nn.Conv2d(3, 6, 3, padding=1, groups=3))],
    lambda s, x: F.relu(s.conv2(s.conv1(x))), 6 * 6 * 6), X(3, 6, 6))
# pad (top, bottom, left, right) = (1, 0, 2, 1); F.pad takes (left, right, top, bottom)
cases += both("OpConvAsymPad", lambda: Net(
    [("conv1", nn.Conv2d(2, 3, 1)), ("conv2", nn.Conv2d(3, 3, (2, 3)))],
    lambda s, x: s.conv2(F.pad(s.conv1(x), (2, 1, 1, 0))), 3 * 5 * 7), X(2, 5, 6))
cases += both("OpConvNonSquare", lambda: Net(
    [("conv1", nn.Conv2d(3, 3, 1)), ("conv2", nn.Conv2d(3, 4, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2), bias=False))],
    lambda s, x: s.conv2(s.conv1(x)), 4 * 4 * 3), X(3, 7, 5))
cases += both("OpConv1d", lambda: Net(
    [("conv1", nn.Conv1d(3, 4, 3, stride=2, padding=1, dilation=2)), ("conv2", nn.Conv1d(4, 4, 2, groups=2))],
    lambda s, x: s.conv2(F.pad(s.conv1(x), (1, 0))), 4 * 5), X(3, 11))
# L' = (5 - 1)·2 - 2·1 + 2·(3 - 1) + 1 + 1 = 12
cases += both("OpConvTranspose1d", lambda: Net(
    [("conv1", nn.Conv1d(3, 4, 1)), ("deconv1", nn.ConvTranspose1d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2, dilation=2))],
    lambda s, x: s.deconv1(s.conv1(x)), 6 * 12), X(3, 5))
cases += both("OpConvTranspose", lambda: Net(
    [("conv1", nn.Conv2d(3, 4, 1)), ("deconv1", nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1))],
    lambda s, x: s.deconv1(s.conv1(x)), 3 * 6 * 6), X(3, 3, 3))
cases += both("OpConvTransposeGrouped", lambda: Net(
    [("conv1", nn.Conv2d(2, 4, 1)),
     ("deconv1", nn.ConvTranspose2d(4, 6, (3, 2), stride=(2, 3), padding=(1, 0), output_padding=(1, 2), groups=2, dilation=(2, 1)))],
    lambda s, x: s.deconv1(s.conv1(x)), 6 * 8 * 13), X(2, 3, 4))
cases += both("OpMaxPoolCeil", lambda: Net(
    [("conv1", nn.Conv2d(3, 3, 1))],
    lambda s, x: F.max_pool2d(s.conv1(x), 3, stride=2, ceil_mode=True), 3 * 4 * 4), X(3, 8, 8))
cases += both("OpMaxPoolPadded", lambda: Net(
    [("conv1", nn.Conv2d(2, 3, 1))],
    lambda s, x: F.max_pool2d(s.conv1(x), (3, 2), stride=(2, 1), padding=1), 3 * 4 * 7), X(2, 7, 6))
cases += both("OpAvgPoolCeil", lambda: Net(
    [("conv1", nn.Conv2d(3, 3, 1))],
    lambda s, x: F.avg_pool2d(s.conv1(x), 2, stride=2, padding=1, ceil_mode=True), 3 * 4 * 4), X(3, 7, 7))
cases += both("OpAvgPoolPadded", lambda: Net(
    [("conv1", nn.Conv2d(2, 3, 1))],
    lambda s, x: F.avg_pool2d(s.conv1(x), (3, 2), stride=(2, 2), padding=1, ceil_mode=True, count_include_pad=False), 3 * 5 * 4), X(2, 8, 7))
cases += both("OpAdaptiveAvgPool", lambda: Net(
    [("conv1", nn.Conv2d(3, 3, 1))],
    lambda s, x: F.adaptive_avg_pool2d(s.conv1(x), (3, 2)), 3 * 3 * 2), X(3, 7, 5))


def unpool(s, x):
    a = s.conv1(x)
    p, idx = F.max_pool2d(a, 2, return_indices=True)
    return F.max_unpool2d(s.conv2(p), idx, 2, output_size=a.shape[-2:])


cases += both("OpMaxUnpool", lambda: Net([("conv1", nn.Conv2d(2, 3, 1)), ("conv2", nn.Conv2d(3, 3, 1))], unpool, 3 * 6 * 6), X(2, 6, 6))
cases += both("OpUpsampleNearest", lambda: Net(
    [("conv1", nn.Conv2d(2, 3, 1))],
    lambda s, x: F.interpolate(s.conv1(x), scale_factor=(2, 3), mode="nearest"), 3 * 6 * 12), X(2, 3, 4))
cases += both("OpUpsampleBilinear", lambda: Net(
    [("conv1", nn.Conv2d(2, 3, 1))],
    lambda s, x: F.interpolate(s.conv1(x), scale_factor=2, mode="bilinear", align_corners=False), 3 * 6 * 8), X(2, 3, 4))
cases += both("OpUpsampleBilinearAligned", lambda: Net(
    [("conv1", nn.Conv2d(2, 3, 1))],
    lambda s, x: F.interpolate(s.conv1(x), scale_factor=(2, 3), mode="bilinear", align_corners=True), 3 * 6 * 12), X(2, 3, 4))
write("convpool", cases)
