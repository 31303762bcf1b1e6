"""Sharpness of SGD endpoints against η/B, started from a sharp minimum, as one sweep.

A 64-32-10 tanh network (MSE on one-hot targets, n = 500 digits) is first trained by
full-batch gradient descent at a small step (η = 0.1) to a sharp point θ_0 with top Hessian
eigenvalue λ_0.  From θ_0, minibatch SGD runs for the same SDE time t = k·η at every (η, B) of
a grid whose η spans the linear stability limit 2/λ_0 of gradient descent, three runs (own
batch seeds) per point; at each endpoint the top Hessian eigenvalue (Lanczos, residual bound)
and the trace (Hutch++) are measured, and the panels show the ensemble mean ± standard error.
SGD's temperature is T = η/(2B) (Jastrzębski et al. 2017, arXiv:1711.04623): the question is
whether endpoints at larger η/B are flatter, and by which mechanism — the linear stability cap
λ_max ≤ 2/η that acts at any batch size (Wu, Ma & E, NeurIPS 2018; Cohen et al., ICLR 2021),
or the noise, which only the batch size separates at equal η.  Each (η, B, run) is a task of
one :func:`sgdsde.distributed.sweep` (a thread cluster here; pass a Dask client to scale out).

    python examples/sharpness_vs_lr_over_batch.py            # full figure (minutes)
    python examples/sharpness_vs_lr_over_batch.py --smoke    # tiny, for the test suite
"""

from __future__ import annotations

import numpy as np

from sgdsde.plot import example_arguments, save_figure

N_EXAMPLES = {"smoke": 100, "full": 500}


def digits_network_small():
    """The smoke-size landscape (module level, so that Dask workers can import it)."""
    return _digits_network(N_EXAMPLES["smoke"])


def digits_network_full():
    """The full-size landscape."""
    return _digits_network(N_EXAMPLES["full"])


def _digits_network(n):
    from sgdsde.landscapes import MLP
    from sgdsde.sgd.data import load_digits

    data = load_digits(n_examples=n)
    return MLP(data.inputs, np.eye(10)[data.targets], widths=(32,), activation="tanh", loss="mse")


def sharp_start(make, lr, n_steps):
    """Full-batch GD from the default initialisation: the common sharp start θ_0 and its λ_0."""
    from sgdsde.geometry import extreme_eigenpairs
    from sgdsde.sgd import run_sgd

    net = make()
    traj = run_sgd(net, net.init_params(1, seed=0), lr=lr, batch_size=net.n_examples, n_steps=n_steps,
                   seed=0, record_every=n_steps)
    theta = np.asarray(traj.final)[0]
    lam0 = float(extreme_eigenpairs(net, theta, k=1, seed=0).values[0])
    return theta, lam0, float(net.energy(theta[None])[0])


def ensemble(res, key):
    """Mean and standard error over the surviving replicas of each (η, B):
    dict (η, B) -> (mean, se, number of runs that diverged); NaN mean if all diverged."""
    groups = {}
    for p, status, v in zip(res.params, res.status, res.column(key)):
        runs = groups.setdefault((p["lr"], p["batch_size"]), [[], 0])
        if status == "ok":
            runs[0].append(v)
        else:
            runs[1] += 1
    out = {}
    for k, (v, diverged) in groups.items():
        mean = np.mean(v) if v else np.nan
        se = np.std(v, ddof=1) / np.sqrt(len(v)) if len(v) > 1 else 0.0
        out[k] = (mean, se, diverged)
    return out


def main(argv=None):
    args = example_arguments(__doc__, argv, script=__file__)

    import matplotlib.pyplot as plt

    from sgdsde.geometry import sharpness_sweep

    if args.smoke:
        make, gd_steps, lrs, batches, t, reps = digits_network_small, 30, [0.1, 0.8], [8, 100], 1.0, 2
    else:
        make, gd_steps, lrs, batches, t, reps = (digits_network_full, 2000, [0.1, 0.2, 0.4, 0.6, 0.8, 1.0],
                                                 [4, 16, 64, 500], 20.0, 3)
    theta0, lam0, loss0 = sharp_start(make, 0.1, gd_steps)
    print(f"sharp start: GD η = 0.1, {gd_steps} steps: loss {loss0:.4f}, λ_0 = {lam0:.3f}, "
          f"2/λ_0 = {2 / lam0:.3f}")
    res = sharpness_sweep(make, lrs, batches, sde_time=t, n_trace_products=30, seed=0, start=theta0,
                          n_replicas=reps, progress=False)
    other = [(p, e) for p, e in res.failed if not e.startswith("DivergenceError")]
    if other:
        raise RuntimeError(f"sweep points failed: {other}")
    lam, trace, loss = ensemble(res, "lambda_max"), ensemble(res, "trace"), ensemble(res, "loss")
    keys = sorted(lam, key=lambda k: (k[1], k[0]))
    print(f"{'η':>5} {'B':>4} {'η/B':>8} {'loss':>8} {'λ_max (mean ± SE)':>20} {'λη/2':>6} "
          f"{'Tr H (mean ± SE)':>18}")
    for lr, b in keys:
        print(f"{lr:5.2f} {b:4d} {lr / b:8.5f} {loss[lr, b][0]:8.4f} "
              f"{lam[lr, b][0]:11.3f} ± {lam[lr, b][1]:.3f} "
              f"{lam[lr, b][0] * lr / 2:6.2f} {trace[lr, b][0]:10.2f} ± {trace[lr, b][1]:.2f}"
              + (f"  ({lam[lr, b][2]} of {reps} runs diverged)" if lam[lr, b][2] else ""))
    keys = [k for k in keys if np.isfinite(lam[k][0])]
    ratio = np.array([lr / b for lr, b in keys])
    y = np.array([lam[k][0] for k in keys])
    slope = np.polyfit(np.log(ratio), np.log(y), 1)[0]
    print(f"log-log slope of λ_max against η/B over all points: {slope:+.3f}")

    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15, 4.3), layout="constrained")
    colors = ("C0", "C1", "C2", "C3")
    for b, color in zip(sorted(set(batches)), colors):
        lost = [lr for (lr, bb), v in lam.items() if bb == b and not np.isfinite(v[0])]
        ax2.plot(lost, np.full(len(lost), 0.05), "x", color=color, ms=9)
        ks = [k for k in keys if k[1] == b]
        x = [lr / b for lr, _ in ks]
        label = f"B = {b}" + (" (full batch)" if b == make().n_examples else "")
        ax1.errorbar(x, [lam[k][0] for k in ks], [lam[k][1] for k in ks], fmt="o-", color=color,
                     capsize=3, label=label)
        ax2.errorbar([lr for lr, _ in ks], [lam[k][0] for k in ks], [lam[k][1] for k in ks], fmt="o-",
                     color=color, capsize=3, label=label)
        ax3.errorbar(x, [trace[k][0] for k in ks], [trace[k][1] for k in ks], fmt="s-", color=color,
                     capsize=3, label=label)
    grid = np.geomspace(min(lrs), max(lrs), 50)
    ax2.plot(grid, 2 / grid, "k--", lw=0.8, label="2/η (GD stability limit)")
    for ax in (ax1, ax2):
        ax.axhline(lam0, color="gray", lw=0.8, ls=":", label=f"start λ_0 = {lam0:.2f}")
    ax1.set(xscale="log", xlabel="η/B", ylabel=r"$\lambda_{\max}$ at the endpoint (mean ± SE)",
            title=f"SGD from a sharp GD point, t = kη = {t:g}, {reps} runs/point")
    ax2.set(xscale="log", xlabel="η", ylabel=r"$\lambda_{\max}$ at the endpoint",
            ylim=(0, 1.3 * max(lam0, y.max())), title="against η: the 2/η cap (× = every run diverged)")
    ax3.set(xscale="log", xlabel="η/B", ylabel="Tr H at the endpoint (Hutch++, mean ± SE)",
            title=f"digits MLP 64-32-10 MSE, n = {N_EXAMPLES['smoke' if args.smoke else 'full']}")
    ax1.legend(frameon=False, fontsize=7)
    ax2.legend(frameon=False, fontsize=7)
    save_figure(fig, args.out, "sharpness_vs_lr_over_batch", args.smoke)


if __name__ == "__main__":
    main()
