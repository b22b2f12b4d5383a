"""torchvision 0.14 models with seeded random weights, for TorchvisionParityTests.

    python3 torchvision_parity.py OUT_DIR resnet18 vgg11 ...

For each model writes OUT_DIR/<model>.safetensors (the state_dict under torchvision's names, running statistics and
num_batches_tracked included) and OUT_DIR/<model>.io.safetensors ("input" [1, 3, S, S] and the eval-mode "logits",
computed in float64 so the reference carries no float32 rounding). The safetensors files are written here with struct +
json (the format, no safetensors package), tensors in state_dict order. Weights: torchvision's own initialization under
torch.manual_seed(0), then every tensor that initialization left constant (zero biases, batchnorm's 1/0, zero-initialized
heads and class tokens) is randomized, and running statistics are random, so a misplaced tensor changes the logits.
"""
import json
import struct
import sys

import torch
import torchvision.models as tvm

# name -> (constructor, input size, state_dict keys to move, as (key, after_key): our .net file declares them elsewhere)
MODELS = {
    "resnet18": (lambda: tvm.resnet18(), 224, []),
    "resnet34": (lambda: tvm.resnet34(), 224, []),
    "resnet50": (lambda: tvm.resnet50(), 224, []),
    "vgg11": (lambda: tvm.vgg11(), 224, []),
    "vgg16": (lambda: tvm.vgg16(), 224, []),
    "googlenet": (lambda: tvm.googlenet(aux_logits=False, init_weights=True), 224, []),
    "densenet121": (lambda: tvm.densenet121(), 224, []),
    "mobilenet_v2": (lambda: tvm.mobilenet_v2(), 224, []),
    "mobilenet_v3_small": (lambda: tvm.mobilenet_v3_small(), 224, []),
    "mobilenet_v3_large": (lambda: tvm.mobilenet_v3_large(), 224, []),
    "efficientnet_b0": (lambda: tvm.efficientnet_b0(), 224, []),
    "vit_b_16": (lambda: tvm.vit_b_16(), 224, [("class_token", "conv_proj.bias")]),
    "alexnet": (lambda: tvm.alexnet(), 224, []),
}

DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}


def write_safetensors(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors:
        b = t.detach().contiguous().cpu().numpy().tobytes()  # numpy is little-endian on x86
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def randomize(model, g):
    with torch.no_grad():
        for name, m in model.named_modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
                m.num_batches_tracked.fill_(7)
        for name, p in model.named_parameters():
            if p.numel() > 0 and bool((p == p.flatten()[0]).all()) and "bn" not in name and "norm" not in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.02)
        for name, m in model.named_modules():
            if isinstance(m, torch.nn.LayerNorm):
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)


def main():
    out, names = sys.argv[1], sys.argv[2:] or list(MODELS)
    torch.set_num_threads(2)
    for name in names:
        ctor, size, moves = MODELS[name]
        torch.manual_seed(0)
        model = ctor().eval()
        g = torch.Generator().manual_seed(1)
        randomize(model, g)
        items = list(model.state_dict().items())
        for key, after in moves:
            item = next(i for i in items if i[0] == key)
            items.remove(item)
            items.insert(next(k for k, i in enumerate(items) if i[0] == after) + 1, item)
        write_safetensors(f"{out}/{name}.safetensors", items, {"format": "pt", "model": f"torchvision.models.{name}"})
        x = torch.randn(1, 3, size, size, generator=g)
        with torch.no_grad():
            logits = model.double()(x.double())
        write_safetensors(f"{out}/{name}.io.safetensors", [("input", x), ("logits", logits)])
        print(name, "ok", flush=True)


if __name__ == "__main__":
    main()
