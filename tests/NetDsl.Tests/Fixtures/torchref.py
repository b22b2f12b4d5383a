"""Shared helpers for the per-operator PyTorch fixtures (Fixtures/torch_<family>.py -> Fixtures/torch_<family>.json).

Both sides compute parameters and inputs from the same formulas, so a fixture only holds results.
A case is a small network of tests/NetDsl.Tests/Networks/ops_<family>.net written again in PyTorch:
    forward(*inputs) -> (output, loss)
with parameters registered in the .net file's order (or `order` naming them). OpReferenceTests.cs runs each
case on the generated class in fp64 (1e-9) and fp32 (1e-5 relative), checks fp64 finite differences, and
compares the ILGPU path with the CPU path.

Run with Debian's PyTorch 1.13 (apt-get install python3-torch): /usr/bin/python3 Fixtures/torch_<family>.py
"""
import json
import math
import os
import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def param_value(k, shape, is_bias, fan_in):
    """The k-th parameter (file order): sin(0.731 i + 1.37 k) / sqrt(fan_in) (0.1 for biases)."""
    n = math.prod(shape)
    scale = 0.1 if is_bias else 1.0 / math.sqrt(fan_in)
    v = [math.sin(0.731 * i + 1.37 * k) * scale for i in range(n)]
    return torch.tensor(v, dtype=torch.float64).reshape(shape)


def input_value(shape, j=0):
    """Float input number j (file order among float inputs): sin(0.1 i + 0.7 j) + 0.5 cos(0.37 i + 0.3 j)."""
    n = math.prod(shape)
    return torch.tensor([math.sin(0.1 * i + 0.7 * j) + 0.5 * math.cos(0.37 * i + 0.3 * j) for i in range(n)],
                        dtype=torch.float64).reshape(shape)


def _grad_summary(g):
    g = g.detach().to(torch.float64).flatten()
    n = g.numel()
    idx = sorted({(j * 7919) % n for j in range(16)})
    return {"sum": g.sum().item(), "sumsq": (g * g).sum().item(), "samples": [[i, g[i].item()] for i in idx]}


def case(network, model, inputs, dtype, mode="eval", order=None):
    """inputs: list of dicts {"name", "shape"} (float) or {"name", "shape", "int": [...]} (int), in the .net file's order."""
    model = model.to(dtype)
    named = dict(model.named_parameters())
    names = order if order is not None else list(named.keys())
    assert sorted(names) == sorted(named.keys()), f"{network}: order {names} vs {list(named.keys())}"
    with torch.no_grad():
        for k, pname in enumerate(names):
            p = named[pname]
            is_bias = pname.endswith("bias")
            fan_in = 1 if is_bias else math.prod(p.shape[1:])
            p.copy_(param_value(k, tuple(p.shape), is_bias, fan_in).to(dtype))
    model.train(mode == "train")
    tensors, j = [], 0
    for spec in inputs:
        if "int" in spec:
            tensors.append(torch.tensor(spec["int"], dtype=torch.long).reshape(spec["shape"]))
        else:
            tensors.append(input_value(spec["shape"], j).to(dtype))
            j += 1
    output, loss = model(*tensors)
    loss.backward()
    return {
        "network": network, "dtype": str(dtype).replace("torch.", ""), "torch": torch.__version__, "mode": mode,
        "inputs": inputs, "output": output.detach().to(torch.float64).flatten().tolist(), "loss": loss.item(),
        "grads": {pname: _grad_summary(named[pname].grad) for pname in names},
    }


def write(family, cases):
    path = os.path.join(HERE, f"torch_{family}.json")
    with open(path, "w") as f:
        json.dump(cases, f, indent=1)
    print(f"wrote {path}: {len(cases)} cases")


def both(network, make_model, inputs, mode="eval", order=None):
    """The case in float64 and float32 (a fresh model for each)."""
    return [case(network, make_model(), inputs, dt, mode, order) for dt in (torch.float64, torch.float32)]
