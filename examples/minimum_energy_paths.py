"""Minimum-energy paths: Müller–Brown saddles, p-spin barriers, digits mode connectivity.

Left: the Müller–Brown potential; the climbing-image nudged elastic band (NEB-CI) and the
string method between its minima, with the saddles the critical-point finder returns
(the climbing image lands on them: the energies are printed to 1e-8).
Middle: the spherical 3-spin model (ABC units) at N = 32 … 128: energy per spin along the
NEB-CI path from the lowest of the minima reached by gradient descent from random starts to
the nearest other one, against the normalised arc length; the barrier ΔE/N is in the legend.
At N = 256 the GD minima from random starts are all nearly orthogonal and a band between two
of them crosses several basins (it does not converge), so there the end point is the first
minimum met along a relaxed band (:func:`adjacent_minimum`), one basin away.
Right: mode connectivity of a 64-16-10 digits network (cross-entropy): the training loss along
the straight line between two SGD solutions against the loss along the NEB-optimised path
(no climbing image), for several pairs; barrier = max along the path minus the mean of the
end losses, mean ± SE over pairs (Draxler et al., ICML 2018; Garipov et al., NeurIPS 2018).

    python examples/minimum_energy_paths.py            # full figure (minutes)
    python examples/minimum_energy_paths.py --smoke    # tiny, for the test suite
"""

from __future__ import annotations

import numpy as np

from sgdsde.plot import example_arguments, save_figure


def muller_brown_panel(ax, n_images):
    from sgdsde.geometry import nudged_elastic_band, string_method
    from sgdsde.landscapes import MullerBrown
    from sgdsde.measure.critical_points import find_critical_points

    mb = MullerBrown()
    starts = np.array([[-0.55, 1.44], [0.62, 0.03], [-0.05, 0.47], [-0.82, 0.62], [0.21, 0.29]])
    cp = find_critical_points(mb, starts)
    minima = cp.x[cp.index == 0]
    minima = minima[np.argsort(minima[:, 0])]  # A (upper left), C (middle), B (lower right)
    gx, gy = np.meshgrid(np.linspace(-1.5, 1.2, 200), np.linspace(-0.3, 2.0, 200))
    e = mb.energy(np.stack([gx.ravel(), gy.ravel()], 1)).reshape(gx.shape)
    ax.contourf(gx, gy, np.minimum(e, 50), levels=40, cmap="viridis")
    saddles = cp.x[cp.index == 1]
    ax.plot(saddles[:, 0], saddles[:, 1], "rx", ms=10, mew=2, label="finder: saddles")
    for a, b in ((minima[0], minima[1]), (minima[1], minima[2])):
        neb = nudged_elastic_band(mb, a, b, n_images=n_images, tol=1e-7)
        string = string_method(mb, a, b, n_images=2 * n_images + 1, step=5e-4, tol=1e-5)
        i = int(np.argmin(np.linalg.norm(cp.x - neb.saddle, axis=1)))
        print(f"Müller–Brown: NEB-CI saddle energy {neb.energies.max():.8f} vs finder {cp.energy[i]:.8f} "
              f"(|Δ| = {abs(neb.energies.max() - cp.energy[i]):.1e}, {neb.n_iterations} iterations, one "
              f"gradient call each); string: top image {string.energies.max():.5f}, interpolated peak "
              f"{string.peak_energy:.5f} ± {string.barrier_error:.1e}")
        ax.plot(neb.images[:, 0], neb.images[:, 1], "o-", color="w", ms=4, lw=1)
        ax.plot(string.images[:, 0], string.images[:, 1], "--", color="orange", lw=1.2)
    ax.plot([], [], "o-", color="w", label="NEB-CI")
    ax.plot([], [], "--", color="orange", label="string")
    ax.set(xlabel="x", ylabel="y", title="Müller–Brown")
    ax.legend(frameon=False, fontsize=7, loc="lower left")


def descend(h, x, n_steps=1500):
    """Riemannian gradient descent on the sphere, step 0.05, for a cloud x of shape (M, N)."""
    for _ in range(n_steps):
        x = h.manifold.retract(x - 0.05 * h.manifold.project(x, h.grad(x)))
    return x


def adjacent_minimum(h, a, b, n_band=33, band_iter=1000):
    """The first minimum after a met along a relaxed band from a to a far minimum b.

    A band without climbing image between two nearly orthogonal minima is relaxed for
    ``band_iter`` iterations, every interior image is descended, and the first descent (from a)
    that lands in a different basin (overlap with a below 0.99) is polished and returned."""
    from sgdsde.geometry import nudged_elastic_band

    band = nudged_elastic_band(h, a, b, n_images=n_band, climbing=False, tol=1e-5, max_iter=band_iter)
    e_band = band.energies / h.dim
    dips = int(np.sum((e_band[1:-1] < e_band[:-2]) & (e_band[1:-1] < e_band[2:])))
    ends = descend(h, band.images[1:-1])
    q = h.overlap(ends, np.repeat(a[None], len(ends), axis=0))
    for k in np.flatnonzero(q < 0.99):
        m = descend(h, ends[k:k + 1], 3000)[0]
        low = extreme_eigenpairs_smallest(h, m)
        if low > 0:  # a minimum, not a saddle where the descent stalled
            print(f"  band a → b ({n_band} images, {band_iter} iterations, max force {band.max_force:.1e}, "
                  f"{dips} interior dips); image {k + 1} descends to a new minimum, λ_min = {low:.4f}")
            return m
    raise RuntimeError("no distinct minimum along the band")


def extreme_eigenpairs_smallest(h, x):
    from sgdsde.geometry import extreme_eigenpairs

    return float(extreme_eigenpairs(h, x, k=1, which="smallest", seed=0).values[0])


def pspin_panel(ax, sizes, n_starts, n_images, adjacent_sizes=()):
    """NEB-CI from the lowest GD minimum to the nearest other one; for N in ``adjacent_sizes``
    (where all GD minima are nearly orthogonal and the band between them crosses several
    basins) to the first minimum along a relaxed band instead (:func:`adjacent_minimum`)."""
    from sgdsde.geometry import nudged_elastic_band
    from sgdsde.landscapes import SphericalPSpin

    for n, color in zip([*sizes, *adjacent_sizes], ("C0", "C1", "C3", "C4")):
        h = SphericalPSpin(n=n, p=3, seed=0)
        x = descend(h, h.manifold.random(n_starts, seed=1))
        e = h.energy(x) / n
        i = int(np.argmin(e))
        q_all = h.overlap(x, np.repeat(x[i:i + 1], len(x), axis=0))
        # the nearest other minimum (largest overlap below 0.95): one saddle between them, usually
        others = [k for k in range(len(x)) if q_all[k] < 0.95 and abs(e[k] - e[i]) > 1e-6]
        j = max(others, key=lambda k: q_all[k])
        a, b = x[i], x[j]
        if n in adjacent_sizes:
            print(f"p-spin N = {n}: nearest GD minimum has overlap {q_all[j]:+.3f}; overlaps of all "
                  f"{n_starts}: {np.round(np.sort(q_all)[:-1], 2)}")
            b = adjacent_minimum(h, a, b)
        path = nudged_elastic_band(h, a, b, n_images=n_images, tol=1e-5, max_iter=5000)
        s = path.arclength / path.arclength[-1]
        q = h.overlap(a[None], b[None])[0]
        e_b = h.energy(b[None])[0] / n
        print(f"p-spin N = {n}: minima e = {e[i]:.4f}, {e_b:.4f} (overlap {q:+.3f});"
              f" barrier ΔE = {path.barrier:.4f} (ΔE/N = {path.barrier / n:.5f}), converged {path.converged} "
              f"in {path.n_iterations} iterations, max force {path.max_force:.1e}")
        label = f"N = {n}: ΔE/N = {path.barrier / n:.4f}" + (" (adjacent)" if n in adjacent_sizes else "")
        ax.plot(s, path.energies / n, "o-", ms=3, color=color, label=label)
    ax.set(xlabel="normalised arc length", ylabel="energy per spin H/N",
           title="3-spin: NEB-CI between GD minima")
    ax.legend(frameon=False, fontsize=7)


def network_panel(ax, n_examples, n_pairs, n_steps, n_images, max_iter):
    from sgdsde.geometry import nudged_elastic_band, straight_path
    from sgdsde.landscapes import MLP
    from sgdsde.sgd import run_sgd
    from sgdsde.sgd.data import load_digits

    data = load_digits(n_examples=n_examples)
    net = MLP(data.inputs, data.targets, widths=(16,), activation="tanh", loss="cross_entropy",
              weight_decay=1e-4)
    theta0 = net.init_params(2 * n_pairs, seed=0)
    sol = run_sgd(net, theta0, lr=0.2, batch_size=32, n_steps=n_steps, seed=1, record_every=n_steps).final
    line_b, path_b = [], []
    for k in range(n_pairs):
        a, b = sol[2 * k], sol[2 * k + 1]
        line = straight_path(net, a, b, 4 * n_images)
        e_line = net.energy(line)
        path = nudged_elastic_band(net, a, b, n_images=n_images, climbing=False, tol=1e-3, max_iter=max_iter)
        ends = 0.5 * (e_line[0] + e_line[-1])
        line_b.append(e_line.max() - ends)
        path_b.append(max(path.energies.max(), path.peak_energy) - ends)
        lab = "straight line" if k == 0 else None
        ax.plot(np.linspace(0, 1, e_line.size), e_line, color="C7", lw=1, label=lab)
        ax.plot(path.arclength / path.arclength[-1], path.energies, "o-", ms=3, color="C2",
                label="NEB path" if k == 0 else None)
        print(f"pair {k}: end losses {e_line[0]:.4f}, {e_line[-1]:.4f}; barrier straight {line_b[-1]:.4f}, "
              f"NEB {path_b[-1]:.4f} (max force {path.max_force:.1e}, {path.n_iterations} iterations)")
    def se(v):
        return np.std(v, ddof=1) / np.sqrt(len(v)) if len(v) > 1 else np.nan

    print(f"mode connectivity over {n_pairs} pairs: barrier straight {np.mean(line_b):.4f} "
          f"± {se(line_b):.4f}, optimised {np.mean(path_b):.4f} ± {se(path_b):.4f}")
    ax.set(yscale="log", xlabel="normalised position along the path", ylabel="training loss",
           title=f"digits MLP d = {net.dim}: barrier {np.mean(line_b):.3f} → {np.mean(path_b):.3f}")
    ax.legend(frameon=False, fontsize=7)


def main(argv=None):
    args = example_arguments(__doc__, argv, script=__file__)

    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.3), layout="constrained")
    if args.smoke:
        muller_brown_panel(axes[0], n_images=7)
        pspin_panel(axes[1], sizes=[16], n_starts=8, n_images=7, adjacent_sizes=[])
        network_panel(axes[2], n_examples=100, n_pairs=1, n_steps=100, n_images=5, max_iter=50)
    else:
        muller_brown_panel(axes[0], n_images=15)
        pspin_panel(axes[1], sizes=[32, 64, 128], n_starts=16, n_images=11, adjacent_sizes=[256])
        network_panel(axes[2], n_examples=500, n_pairs=4, n_steps=3000, n_images=9, max_iter=3000)
    save_figure(fig, args.out, "minimum_energy_paths", args.smoke)


if __name__ == "__main__":
    main()
