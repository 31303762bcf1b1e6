"""Flat activations: gradient descent stalls, the non-gradient rule learns (Shalev-Shwartz et al. §5).

Target ``y = u(w*·x)`` with u a 5-step staircase on [−1, 1] (piecewise constant, u' = 0
almost everywhere), x Gaussian in p = 20 dimensions, |w*| = 3; the model is ``u(w·x)``.
Left: the loss along a line through w* is a staircase — flat almost everywhere, so its
gradient is zero.  Right: the loss against iterations for

* gradient descent on ``u(w·x)`` (the chain rule, computed, gives exactly 0: w never moves);
* the non-gradient rule ``w ← w − η E[(u(w·x) − y) x]`` of the paper (it drops the
  vanishing u'), which converges to w*;
* gradient descent on a 64-unit network with the library's ``"step"`` activation
  (:class:`~sgdsde.landscapes.mlp.MLP`): only the output layer learns, the first layer
  receives an exactly zero gradient, and the loss stops at the best fit by frozen random
  step features.

Measured at full size (n = 4000 examples, 4 initialisations, 2000 iterations): gradient
descent on u(w·x) keeps its initial loss 0.0627 to the last digit (|w − w*| = 3.40 before
and after); the forward-only rule reaches loss exactly 0 (every example on the right step,
|w − w*| = 0.018); the step network falls from 0.449 to 0.0108 and stops there, its first
layer unchanged (largest change of a weight: 0.0).

    python examples/flat_activations.py            # a minute
    python examples/flat_activations.py --smoke    # seconds
"""

from __future__ import annotations

import numpy as np

from sgdsde.plot import example_arguments, save_figure


def main(argv=None):
    args = example_arguments(__doc__, argv, script=__file__)

    import matplotlib.pyplot as plt

    from sgdsde.landscapes.mlp import MLP
    from sgdsde.random import normals
    from sgdsde.studies.flat_activations import fit_single_neuron, single_neuron_loss, staircase

    p, levels, n_runs = 20, 5, 4
    n, n_steps, every = (200, 60, 10) if args.smoke else (4000, 2000, 20)
    x = normals(1, np.arange(n), 0, p) / np.sqrt(p)  # |x| ≈ 1
    w_star = normals(2, np.arange(1), 0, p)[0]
    w_star *= 3.0 / np.linalg.norm(w_star)
    y = staircase(x @ w_star, levels)
    w0 = 0.3 * normals(3, np.arange(n_runs), 0, p)

    curves = {}
    for rule, lr in (("gradient", 0.3), ("forward_only", 0.3)):
        steps, losses, w = fit_single_neuron(w0, x, y, rule=rule, lr=lr, n_steps=n_steps, levels=levels,
                                             record_every=every)
        curves[rule] = (steps, losses, np.linalg.norm(w - w_star, axis=1))
    net = MLP(x, y, widths=[64], activation="step", loss="mse")
    theta = net.init_params(n_runs, seed=4)
    first_layer = slice(0, 64 * (p + 1))
    theta0 = theta.copy()
    net_steps, net_losses = [], []
    for step in range(n_steps + 1):
        if step % every == 0 or step == n_steps:
            net_steps.append(step)
            net_losses.append(net.energy(theta))
        if step < n_steps:
            theta = theta - 0.1 * net.grad(theta)
    first_layer_change = float(np.abs(theta - theta0)[:, first_layer].max())
    curves["step network"] = (np.array(net_steps), np.array(net_losses), None)

    print(f"staircase target u(w*·x), {levels} steps, p = {p}, n = {n}, {n_runs} initialisations")
    print(f"{'method':>14} {'loss at 0':>10} {'loss at end':>12} {'|w − w*| at end':>16}")
    for name, (_, losses, dist) in curves.items():
        d = "—" if dist is None else f"{dist.mean():.4f}"
        print(f"{name:>14} {losses[0].mean():10.5f} {losses[-1].mean():12.3e} {d:>16}")
    print(f"step network: largest change of a first-layer weight after {n_steps} steps = "
          f"{first_layer_change}")

    fig, (ax_l, ax_t) = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained")
    direction = normals(5, np.arange(1), 0, p)[0]
    direction /= np.linalg.norm(direction)
    t = np.linspace(-3, 3, 1201)
    line = w_star[None, :] + t[:, None] * direction[None, :]
    ax_l.plot(t, single_neuron_loss(line, x, y, levels), color="k", lw=1)
    ax_l.set(xlabel=r"$t$ in $w = w^* + t\,v$ (random unit $v$)",
             ylabel=r"$F(w) = E\,\frac{1}{2}(u(w\cdot x) - y)^2$",
             title="the loss is piecewise constant: zero gradient a.e.")
    inset = ax_l.inset_axes([0.36, 0.66, 0.28, 0.26])
    r = np.linspace(-1.5, 1.5, 601)
    inset.plot(r, staircase(r, levels), color="C0")
    inset.set_title("u(r)", fontsize=8)
    inset.tick_params(labelsize=7)
    zoom = ax_l.inset_axes([0.36, 0.27, 0.28, 0.26])
    t_zoom = np.linspace(1.0, 1.0 + 40.0 / n, 801)  # a window holding a few jumps
    line_zoom = w_star[None, :] + t_zoom[:, None] * direction[None, :]
    zoom.plot(t_zoom, single_neuron_loss(line_zoom, x, y, levels), color="k", lw=1)
    zoom.set_title("zoom: flat between jumps", fontsize=8)
    zoom.tick_params(labelsize=6)
    labels = {"gradient": "gradient descent on u(w·x)",
              "forward_only": r"non-gradient: $w \leftarrow w - \eta E[(u - y)x]$",
              "step network": f"gradient descent, 64 step units (1st layer moved {first_layer_change:g})"}
    for k, (name, (steps, losses, _)) in enumerate(curves.items()):
        mean = losses.mean(axis=1)
        ax_t.plot(np.maximum(steps, 0.5), np.maximum(mean, 1e-6), "-", color=f"C{k}", lw=1.8,
                  label=labels[name])
        ax_t.fill_between(np.maximum(steps, 0.5), np.maximum(losses.min(axis=1), 1e-6), losses.max(axis=1),
                          color=f"C{k}", alpha=0.2)
    ax_t.set(xscale="log", yscale="log", xlabel="iteration (0 drawn at 0.5)", ylabel="training loss",
             title=f"{n_runs} initialisations (band: min–max)")
    ax_t.legend(frameon=False, fontsize=8)

    save_figure(fig, args.out, "flat_activations", args.smoke)


if __name__ == "__main__":
    main()
