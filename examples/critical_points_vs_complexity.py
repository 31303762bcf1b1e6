"""Critical points of the spherical 3-spin model, counted and held against ABC's theory.

1. Enumeration at small N (3 ≤ N ≤ 12): for each of 50 coupling draws, critical points are
   searched from uniform random starts and from snapshots of gradient descent (which reach the
   minima that random starts under-sample), with the σ → −σ mirrors of odd p; the counts by
   index, averaged over draws, are compared with the exact finite-N expectation of Auffinger,
   Ben Arous & Černý (GOE Monte Carlo, docs/theory.md §4).  The discovery curve (distinct points vs
   starts) and the Good–Turing unseen probability say whether each search saturated; the
   table printed at the end says at which N the enumeration stops being complete with this
   budget of starts.
2. Complexity: Θ_{k,3}(u) and Θ_3(u), with points (1/N) ln E Crt_{N,k}((−∞, u)) from the exact
   finite-N counts at growing N and from the enumerated points.
3. Spectra: tangent Riemannian-Hessian eigenvalues at critical points of a larger model (N =
   100), each shifted by its centre −p·u, against the semicircle of radius 2 sqrt(p(p − 1));
   and the lower edge of the spectrum along gradient descent, which reaches ≈ 0 (marginality).

What it found (full size, 150 N random + 200 N descent starts per draw; the packed couplings of
issue 17): the counts by index agree with the exact expectation within 3 standard errors for
every N up to 10 (at N = 11 one index is 3.1 SE off); the discovery curves are flat (under one
new point per draw in the second half of the starts) up to N = 8 and still rising from N = 9 (3
new points per draw at N = 9, 12 at N = 10, 82 at N = 12); at N = 12 the missing points show in
the counts (618 found against 642 expected; indices 2 and N − 3 are short, the worst by 5.6
SE).  So with this budget the enumeration stops being complete at N = 9, and the shortfall
exceeds the error bars of 50 draws at N = 11-12.  At N = 100 the spectra at critical points
follow the semicircle; gradient descent ends at u ≈ −1.54 with the lower edge of the bulk at
−0.18 (radius 4.9).

    python examples/critical_points_vs_complexity.py            # full size (about 7 minutes)
    python examples/critical_points_vs_complexity.py --smoke    # tiny, for the test suite
"""

from __future__ import annotations

import contextlib
import time

import numpy as np

from sgdsde.plot import example_arguments, save_figure

P = 3


def blas_single_thread():
    """One BLAS thread: the batched small matrices here gain nothing from more, and contend."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1, "blas")


def enumerate_draws(n, n_draws, n_random, n_descent, seed):
    """Counts by index per draw, discovery curves, unseen probabilities and energies per spin."""
    from sgdsde.landscapes.pspin import SphericalPSpin
    from sgdsde.measure.critical_points import (
        find_critical_points,
        random_starts,
        starts_along_dynamics,
        unseen_probability,
    )
    from sgdsde.sde import LangevinSDE

    counts, curves, unseen, points = [], [], [], []
    for draw in range(n_draws):
        landscape = SphericalPSpin(n, P, seed=seed + draw)
        descent = starts_along_dynamics(
            LangevinSDE(landscape, temperature=0.0),
            random_starts(landscape, n_descent, seed=10_000 + draw), dt=0.05, n_steps=100, every=25,
            seed=draw)
        starts = np.concatenate([random_starts(landscape, n_random, seed=20_000 + draw), descent])
        starts = starts[np.random.default_rng(draw).permutation(len(starts))]  # mix the two kinds
        cp = find_critical_points(landscape, starts, parity=(-1) ** P)
        counts.append(cp.count_by_index(n))
        curves.append(cp.discovery)
        unseen.append(unseen_probability(cp.start_label))
        points.append((cp.index, cp.energy / n))
    return np.array(counts, float), np.array(curves, float), np.array(unseen), points


def main(argv=None):
    args = example_arguments(__doc__, argv, script=__file__)

    import matplotlib.pyplot as plt

    from sgdsde.integrators import EulerMaruyama
    from sgdsde.landscapes.pspin import SphericalPSpin
    from sgdsde.measure.critical_points import find_critical_points, random_starts
    from sgdsde.measure.spectra import pspin_semicircle, semicircle, semicircle_moments, spectrum_observable
    from sgdsde.save import SaveAt
    from sgdsde.sde import LangevinSDE
    from sgdsde.simulate import simulate
    from sgdsde.theory.complexity_counts import expected_counts
    from sgdsde.theory.pspin import complexity, complexity_by_index, layer_energy, threshold_energy

    if args.smoke:
        sizes, n_draws, mc_samples, n_spectrum, theta_sizes = [3, 4], 4, 4_000, 24, [20]
    else:
        sizes, n_draws, mc_samples, n_spectrum = list(range(3, 13)), 50, 200_000, 100
        theta_sizes = [20, 50, 100]
    t_start = time.perf_counter()

    # 1. enumeration vs the exact finite-N expectation
    rows, results = [], {}
    with blas_single_thread():
        for n in sizes:
            counts, curves, unseen, points = enumerate_draws(n, n_draws, 150 * n, 50 * n, seed=1000 * n)
            exact = expected_counts(n, P, n_samples=mc_samples, seed=n)
            se = np.hypot(counts.std(axis=0, ddof=1) / np.sqrt(n_draws), exact.stderr_by_index)
            z = (counts.mean(axis=0) - exact.mean_by_index) / se
            total = counts.sum(axis=1)
            z_total = (total.mean() - exact.total) / np.hypot(total.std(ddof=1) / np.sqrt(n_draws),
                                                              exact.total_stderr)
            agrees = bool(np.all(np.abs(z) < 3) and abs(z_total) < 3)
            late = curves[:, -1].mean() - curves[:, curves.shape[1] // 2].mean()
            saturated = bool(late < 1.0)  # under one new point per draw in the second half
            results[n] = dict(counts=counts, curves=curves, exact=exact, se=se, points=points)
            rows.append((n, total.mean(), exact.total, z_total, np.abs(z).max(), unseen.mean(), late,
                         agrees, saturated))
            print(f"N = {n} done ({time.perf_counter() - t_start:.0f} s)", flush=True)

    print(f"p = {P}, {n_draws} coupling draws per N, starts per draw: 150 N random + 200 N from descent")
    print(f"{'N':>3} {'found':>8} {'expected':>9} {'z_total':>8} {'max|z_k|':>9} {'unseen':>8} "
          f"{'new in 2nd half':>16}  within 3 SE  saturated")
    for n, found, expect, zt, zk, uns, late, agrees, saturated in rows:
        print(f"{n:>3} {found:8.2f} {expect:9.2f} {zt:8.2f} {zk:9.2f} {uns:8.4f} {late:16.2f}  "
              f"{agrees!s:>11}  {saturated}")
    disagree = [r[0] for r in rows if not r[7]]
    unsaturated = [r[0] for r in rows if not r[8]]
    print("counts by index agree with the exact expectation within 3 SE "
          + (f"up to N = {min(disagree) - 1}" if disagree else f"at every N up to {sizes[-1]}"))
    if unsaturated:
        print(f"the discovery curves saturate up to N = {min(unsaturated) - 1}; from N = "
              f"{min(unsaturated)} more starts keep finding new points: enumeration incomplete")
    else:
        print(f"the discovery curves saturate at every N up to {sizes[-1]}")

    # 3. spectra at critical points of a larger model, and along gradient descent
    landscape = SphericalPSpin(n_spectrum, P, seed=7)
    n_gd = 8 if args.smoke else 16
    save = SaveAt(every=20, observables={"spectrum": spectrum_observable(landscape),
                                         "u": landscape.energy_per_spin})
    with blas_single_thread():
        traj = simulate(LangevinSDE(landscape, temperature=0.0), EulerMaruyama(),
                        landscape.manifold.random(n_gd, n_spectrum, seed=8), dt=0.05,
                        n_steps=400 if args.smoke else 2000, save=save, seed=0, progress=False)
        starts = np.concatenate([traj.final, random_starts(landscape, n_gd, seed=9)])
        cp = find_critical_points(landscape, starts, parity=(-1) ** P)
    u_cp = cp.energy / n_spectrum
    center, radius = pspin_semicircle(u_cp, P)
    spectrum_u = traj.observables["u"].mean(axis=1)
    c_gd, r_gd = semicircle_moments(traj.observables["spectrum"])
    edge_gd = (c_gd - r_gd).mean(axis=1)
    print(f"N = {n_spectrum}: {cp.n_points} critical points, energies per spin {u_cp.min():.3f} … "
          f"{u_cp.max():.3f}; end of descent u = {spectrum_u[-1]:.4f} (threshold "
          f"{threshold_energy(P):.4f}), lower edge {edge_gd[-1]:+.3f} (radius {2 * np.sqrt(6):.3f}), "
          f"smallest eigenvalue {traj.observables['spectrum'][-1][:, 0].mean():+.3f}")

    # figures
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.6), layout="constrained")
    ax = axes[0, 0]
    u = np.linspace(-1.8, 0.3, 600)
    e_inf = -threshold_energy(P)
    ax.plot(u, complexity(u, P), "k", lw=2, label=r"$\Theta_3(u)$")
    colors = plt.cm.viridis(np.linspace(0, 0.85, 4))
    for k, color in enumerate(colors):
        ax.plot(u, complexity_by_index(u, k, P), color=color, lw=1.3, label=rf"$\Theta_{{{k},3}}(u)$")
    markers = ["o", "s", "^"]
    edges = np.concatenate([[-np.inf], np.linspace(-1.75, 0.2, 40)])
    for n_theta, marker in zip(theta_sizes, markers, strict=False):
        with blas_single_thread():
            mc = expected_counts(n_theta, P, energy_edges=edges, n_samples=mc_samples // 10, seed=n_theta)
        # E Crt_{N}((−∞, u]) and E Crt_{N,0}((−∞, u]) at the upper band edges
        for cumulative, color, label in [(np.cumsum(mc.mean.sum(axis=0)), "k", f"exact, N = {n_theta}"),
                                         (np.cumsum(mc.mean[0]), colors[0], None)]:
            ok = cumulative > 0
            ax.plot(edges[1:][ok], np.log(cumulative[ok]) / n_theta, marker, ms=3.5, mfc="none", color=color,
                    label=label)
    n_big = sizes[-1]
    idx = np.concatenate([pt[0] for pt in results[n_big]["points"]])
    en = np.concatenate([pt[1] for pt in results[n_big]["points"]])
    grid = np.linspace(-1.75, 0.2, 25)
    enumerated = np.array([np.sum(en <= g) for g in grid]) / n_draws
    ok = enumerated > 0
    ax.plot(grid[ok], np.log(enumerated[ok]) / n_big, "*", color="crimson", ms=7,
            label=f"enumerated, N = {n_big}")
    enumerated_min = np.array([np.sum((en <= g) & (idx == 0)) for g in grid]) / n_draws
    ok = enumerated_min > 0
    ax.plot(grid[ok], np.log(enumerated_min[ok]) / n_big, "*", color=colors[0], mec="crimson", ms=7)
    zoom = ax.inset_axes([0.1, 0.62, 0.36, 0.34])  # the layers −E_0 < −E_1 < … < −E_∞
    uz = np.linspace(-1.665, -1.625, 300)
    zoom.plot(uz, complexity(uz, P), "k", lw=2)
    for k, color in enumerate(colors):
        zoom.plot(uz, complexity_by_index(uz, k, P), color=color, lw=1.3)
        zoom.axvline(layer_energy(k, P), color=color, ls="--", lw=0.8)
    zoom.axhline(0.0, color="gray", lw=0.6)
    zoom.set(ylim=(-0.012, 0.02))
    zoom.tick_params(labelsize=6)
    zoom.set_title(r"layers $-E_k$ (zeros of $\Theta_{k,3}$)", fontsize=7)
    ax.axvline(-e_inf, color="gray", ls=":", lw=1)
    ax.axvline(layer_energy(0, P), color="gray", ls="--", lw=1)
    ax.set(xlabel="energy per spin u", ylabel="complexity (1/N) ln E Crt", ylim=(-0.2, 0.5),
           title=r"complexity: $\Theta$ (lines), finite-N counts (markers)")
    ax.legend(fontsize=7, ncol=2, frameon=False, loc="lower right")

    for ax, n in zip(axes[0, 1:], [sizes[(len(sizes) - 1) // 2], sizes[-1]], strict=True):
        r = results[n]
        ks = np.arange(n)
        ax.bar(ks, r["exact"].mean_by_index, color="lightsteelblue", label="exact E Crt$_{N,k}$ (GOE)")
        ax.errorbar(ks, r["counts"].mean(axis=0), yerr=r["se"], fmt="o", color="crimson", capsize=3,
                    label=f"found, mean of {n_draws} draws ± SE")
        ax.set(xlabel="index k", ylabel="critical points", title=f"counts by index, p = 3, N = {n}")
        ax.legend(frameon=False, fontsize=8, loc="upper left")

    ax = axes[1, 0]
    ns = [r[0] for r in rows]
    ratio = np.array([r[1] / r[2] for r in rows])
    ratio_se = np.array([results[n]["counts"].sum(axis=1).std(ddof=1) / np.sqrt(n_draws)
                         / results[n]["exact"].total for n in ns])
    ax.errorbar(ns, ratio, yerr=ratio_se, fmt="o-", color="crimson", capsize=3,
                label="found / expected, total")
    ax.axhline(1.0, color="k", lw=1)
    ax.set(xlabel="N", ylabel="found / expected", title="completeness of the enumeration")
    ax2 = ax.twinx()
    ax2.plot(ns, [r[5] for r in rows], "s--", color="gray", label="unseen probability")
    ax2.set_ylabel("Good–Turing unseen probability (mean)", color="gray")
    ax2.set_ylim(bottom=0)
    ax.legend(frameon=False, loc="lower left", fontsize=8)

    ax = axes[1, 1]
    for n, color in zip(sizes, plt.cm.plasma(np.linspace(0, 0.85, len(sizes))), strict=True):
        curve = results[n]["curves"].mean(axis=0)
        ax.plot(np.arange(1, curve.size + 1), curve / results[n]["exact"].total, color=color,
                label=f"N = {n}")
    ax.axhline(1.0, color="k", lw=1)
    ax.set(xscale="log", xlabel="starts", ylabel="distinct points / expected total",
           title="discovery curves (mean over draws)")
    ax.legend(frameon=False, fontsize=7, ncol=2)

    ax = axes[1, 2]
    shifted = (cp.eigenvalues - center[:, None]).ravel()
    rad = 2 * np.sqrt(P * (P - 1))
    lam = np.linspace(-1.1 * rad, 1.1 * rad, 400)
    ax.hist(shifted, bins=50, density=True, alpha=0.5, color="steelblue",
            label=f"{cp.n_points} critical points, N = {n_spectrum}")
    ax.plot(lam, semicircle(0.0, rad).pdf(lam), "k", lw=1.6, label="semicircle, radius 2√6")
    ax.set(xlabel=r"$\lambda + p\,u$ (tangent Hessian eigenvalue, shifted)", ylabel="density",
           title="Hessian spectra at critical points")
    inset = ax.inset_axes([0.66, 0.58, 0.32, 0.36])
    inset.plot(spectrum_u, edge_gd, "o-", ms=3, color="crimson")
    inset.plot(spectrum_u, -P * spectrum_u - rad, "k--", lw=1)
    inset.axhline(0.0, color="gray", lw=0.8)
    inset.set_xlabel("u along descent", fontsize=7)
    inset.set_ylabel("lower edge", fontsize=7)
    inset.tick_params(labelsize=6)
    ax.legend(frameon=False, fontsize=7, loc="upper left")

    save_figure(fig, args.out, "critical_points_vs_complexity", args.smoke)
    print(f"done in {time.perf_counter() - t_start:.1f} s")
    return rows


if __name__ == "__main__":
    main()
