"""Writes torch_optim.json: the parameters after 100 steps of torch.optim (PyTorch 1.13) optimizers and schedules
on a fixed, deterministic sequence of gradients, for OptimizerTorchTests.cs.

    OPENBLAS_CORETYPE=SkylakeX python3 tests/NetDsl.Runtime.Tests/Fixtures/torch_optim.py

Both sides make the same numbers from formulas (no gradients are stored):
  three tensors: "layer.weight" [5, 6], "layer.bias" [6], "norm.weight" [4]
  initial value of tensor k, element i:  0.5*cos(1.3*i + 0.7*k) + 0.1*k             (computed in float64, then cast)
  gradient at step t (1-based):          0.3*p + sin(0.37*i + 0.91*t + 1.7*k) * (1 + 0.5*cos(0.13*t))
                                         (p = the current parameter read as float64; computed in float64, then cast)
Schedules stepped "per epoch" step every 10 optimizer steps; "per batch" after every step.
"""
import json
import math
import os
import sys

import torch

STEPS = 100
EPOCH = 10
SHAPES = [("layer.weight", [5, 6]), ("layer.bias", [6]), ("norm.weight", [4])]
PLATEAU_METRICS = [1.0, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.7]


def initial(dtype):
    ps = []
    for k, (name, shape) in enumerate(SHAPES):
        n = 1
        for d in shape:
            n *= d
        i = torch.arange(n, dtype=torch.float64)
        v = 0.5 * torch.cos(1.3 * i + 0.7 * k) + 0.1 * k
        ps.append(torch.nn.Parameter(v.to(dtype).reshape(shape)))
    return ps


def set_grads(ps, t):
    for k, p in enumerate(ps):
        i = torch.arange(p.numel(), dtype=torch.float64)
        p64 = p.detach().reshape(-1).to(torch.float64)
        g = 0.3 * p64 + torch.sin(0.37 * i + 0.91 * t + 1.7 * k) * (1 + 0.5 * math.cos(0.13 * t))
        p.grad = g.to(p.dtype).reshape(p.shape)


O = torch.optim
S = torch.optim.lr_scheduler


def groups(ps, first, second):
    """Weights in one group, rank-1 tensors (bias, norm weight) in another."""
    return [dict(params=[ps[0]], **first), dict(params=[ps[1], ps[2]], **second)]


# name -> (make optimizer, make scheduler or None, "batch"/"epoch", clip)
CASES = {
    "sgd": (lambda ps: O.SGD(ps, lr=0.1), None, None, None),
    "sgd_momentum": (lambda ps: O.SGD(ps, lr=0.05, momentum=0.9), None, None, None),
    "sgd_dampening_wd": (lambda ps: O.SGD(ps, lr=0.05, momentum=0.9, dampening=0.3, weight_decay=1e-2), None, None, None),
    "sgd_nesterov_wd": (lambda ps: O.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3), None, None, None),
    "adam": (lambda ps: O.Adam(ps, lr=1e-2), None, None, None),
    "adam_wd": (lambda ps: O.Adam(ps, lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=1e-2), None, None, None),
    "adam_amsgrad": (lambda ps: O.Adam(ps, lr=1e-2, amsgrad=True), None, None, None),
    "adamw": (lambda ps: O.AdamW(ps, lr=1e-2, weight_decay=0.1), None, None, None),
    "rmsprop": (lambda ps: O.RMSprop(ps, lr=1e-2), None, None, None),
    "rmsprop_centered_momentum_wd": (lambda ps: O.RMSprop(ps, lr=1e-2, alpha=0.9, centered=True, momentum=0.9, weight_decay=1e-3), None, None, None),
    "adagrad": (lambda ps: O.Adagrad(ps, lr=0.1, lr_decay=1e-2, weight_decay=1e-3, initial_accumulator_value=0.1), None, None, None),
    "step_epoch": (lambda ps: O.SGD(ps, lr=0.05, momentum=0.9), lambda o: S.StepLR(o, step_size=3, gamma=0.5), "epoch", None),
    "multistep_batch": (lambda ps: O.Adam(ps, lr=1e-2), lambda o: S.MultiStepLR(o, milestones=[30, 60, 80], gamma=0.3), "batch", None),
    "exponential_epoch": (lambda ps: O.RMSprop(ps, lr=1e-2), lambda o: S.ExponentialLR(o, gamma=0.8), "epoch", None),
    "cosine_epoch": (lambda ps: O.SGD(ps, lr=0.1), lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=1e-3), "epoch", None),
    "cosine_warmup_batch": (lambda ps: O.AdamW(ps, lr=1e-2, weight_decay=0.05),
                            lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=10), S.CosineAnnealingLR(o, T_max=90)], milestones=[10]),
                            "batch", None),
    "onecycle_batch": (lambda ps: O.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
                       lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=100, cycle_momentum=False), "batch", None),
    "plateau_epoch": (lambda ps: O.Adam(ps, lr=1e-2), lambda o: S.ReduceLROnPlateau(o, factor=0.5, patience=1), "epoch", None),
    "clip_norm": (lambda ps: O.SGD(ps, lr=0.05, momentum=0.9), None, None, ("norm", 1.0)),
    "clip_value": (lambda ps: O.Adam(ps, lr=1e-2), None, None, ("value", 0.5)),
    "groups_adamw_no_decay_cosine": (lambda ps: O.AdamW(groups(ps, dict(weight_decay=0.1), dict(weight_decay=0.0, lr=5e-3)), lr=1e-2),
                                     lambda o: S.CosineAnnealingLR(o, T_max=100), "batch", None),
    "groups_sgd": (lambda ps: O.SGD(groups(ps, dict(weight_decay=1e-2), dict(weight_decay=0.0, lr=0.02)), lr=0.1, momentum=0.9), None, None, None),
}


def run(name, dtype):
    make_opt, make_sched, interval, clip = CASES[name]
    ps = initial(dtype)
    opt = make_opt(ps)
    sched = make_sched(opt) if make_sched else None
    lrs = []
    for t in range(1, STEPS + 1):
        set_grads(ps, t)
        if clip and clip[0] == "norm":
            torch.nn.utils.clip_grad_norm_(ps, clip[1])
        if clip and clip[0] == "value":
            torch.nn.utils.clip_grad_value_(ps, clip[1])
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        if sched is not None and (interval == "batch" or t % EPOCH == 0):
            if isinstance(sched, S.ReduceLROnPlateau):
                sched.step(PLATEAU_METRICS[t // EPOCH - 1])
            else:
                sched.step()
    return [p.detach().reshape(-1).tolist() for p in ps], lrs


def main():
    out = {"torch": torch.__version__, "steps": STEPS, "epoch": EPOCH, "plateau_metrics": PLATEAU_METRICS, "cases": []}
    for name in CASES:
        case = {"name": name}
        for dtype, key in ((torch.float32, "float32"), (torch.float64, "float64")):
            final, lrs = run(name, dtype)
            case[key] = final
            if dtype == torch.float64 and CASES[name][1] is not None:
                case["lrs"] = lrs
        out["cases"].append(case)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_optim.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
    print(f"wrote {path}: {len(out['cases'])} cases")


if __name__ == "__main__":
    sys.exit(main())
