"""Training throughput per architecture and the projected time to build the ``mini`` zoo.

Measures iterations/s of the real training step (forward, loss, backward, Adam step; for GAN losses also
the discriminator step) for every arch x {tiny, paper} x {x2, x4} x {L1, VGG+Adv}, after warm-up, in one
process. Tiny models use the mini training config; paper models are timed at batch 1 with a 24-px LR patch
(the paper config, batch 16 x 48 px, is 64x the pixels) because a full paper step takes minutes on 2 cores.

    python bench/zoo_throughput.py [--timed 5]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402

from _common import write_results  # noqa: E402
from srprint.zoo.api import preset_train_config  # noqa: E402
from srprint.zoo.archs import count_parameters, create_arch  # noqa: E402
from srprint.zoo.losses import create_loss  # noqa: E402
from srprint.zoo.specs import ARCHS, mini_grid  # noqa: E402


def step_rate(arch: str, size: str, scale: int, loss_name: str, batch: int, hr: int, timed: int) -> float:
    torch.manual_seed(0)
    net = create_arch(arch, scale, size)
    cfg = preset_train_config("mini")
    loss = create_loss(loss_name, cfg.loss)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    lr_img, hr_img = torch.rand(batch, 3, hr // scale, hr // scale), torch.rand(batch, 3, hr, hr)

    def one() -> None:
        sr = net(lr_img)
        total = loss.generator_loss(sr, hr_img)[0] if loss.adversarial else (sr - hr_img).abs().mean()
        opt.zero_grad()
        total.backward()
        opt.step()
        if loss.adversarial:
            loss.discriminator_step(sr, hr_img)  # type: ignore[attr-defined]

    one()  # warm-up
    t = time.perf_counter()
    for _ in range(timed):
        one()
    return timed / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--timed", type=int, default=5, help="timed iterations per tiny config")
    args = ap.parse_args()
    cfg = preset_train_config("mini")
    rows = []
    for arch in ARCHS:
        for size in ("tiny", "paper"):
            for scale in (2, 4):
                for loss in ("L1", "VGG+Adv"):
                    batch, hr = (cfg.batch_size, cfg.hr_patch) if size == "tiny" else (1, 24 * scale)
                    timed = args.timed if size == "tiny" else 1
                    rate = step_rate(arch, size, scale, loss, batch, hr, timed)
                    n = count_parameters(create_arch(arch, scale, size))
                    rows.append({"arch": arch, "size": size, "scale": scale, "loss": loss, "batch": batch,
                                 "hr_patch": hr, "params": n, "it_per_s": round(rate, 3)})
                    print(f"{arch:7s} {size:5s} x{scale} {loss:8s} batch {batch:2d} hr {hr:3d}: {rate:7.3f} it/s",
                          flush=True)
    rate = {(r["arch"], r["scale"], r["loss"]): r["it_per_s"] for r in rows if r["size"] == "tiny"}
    # ResNet+Adv is timed like VGG+Adv (its ResNet18 layer3 costs less than VGG19 conv2_2 at these sizes)
    warm = math.ceil(cfg.gan_warmup * cfg.iters)
    eval_s = 2.0
    total = 0.0
    for s in mini_grid().specs:
        if s.loss == "L1":
            total += cfg.iters / rate[(s.arch, s.scale, "L1")]
        else:
            total += warm / rate[(s.arch, s.scale, "L1")] + (cfg.iters - warm) / rate[(s.arch, s.scale, "VGG+Adv")]
        total += eval_s
    minutes = total / 60
    md = ["# Zoo training throughput (iterations / s, 2 CPU threads)", "",
          f"Tiny: mini config (batch {cfg.batch_size}, HR patch {cfg.hr_patch}). Paper: batch 1, LR patch 24 "
          "(the paper's batch 16 x LR 48 is 64x more pixels per step).", "",
          "| arch | size | scale | loss | params | it/s |", "|---|---|---|---|---|---|"]
    md += [f"| {r['arch']} | {r['size']} | x{r['scale']} | {r['loss']} | {r['params']:,} | {r['it_per_s']:.3f} |"
           for r in rows]
    md += ["", f"**Projected `mini` zoo build ({len(mini_grid().specs)} models x {cfg.iters} iterations, "
           f"GAN models L1-only for the first {warm}): {minutes:.0f} min** (target <= 90 min), including "
           f"~{eval_s:.0f} s of Set5 evaluation per model.", ""]
    jp, mp = write_results("zoo_throughput", {"rows": rows, "projected_mini_minutes": round(minutes, 1)},
                           "\n".join(md))
    print(f"projected mini build: {minutes:.1f} min; wrote {jp}, {mp}")


if __name__ == "__main__":
    main()
