"""Finite-N Langevin dynamics of the spherical 3-spin model against the exact N → ∞ curves.

For a temperature on each side of T_d = sqrt(3/4) (ABC normalisation), a cloud of
particles starts uniformly on the sphere |σ|² = N of each disorder sample and runs
Euler–Maruyama Langevin dynamics at steps dt and 2 dt, extrapolated to dt → 0 (``--samples``
samples per size; with one, the standard errors are over particles only and omit
sample-to-sample fluctuations).  The figure
shows, per temperature, the energy per spin E(t) and the correlation
C(t, t_w) = σ(t)·σ(t_w)/N for each N next to the solution of the Cugliandolo–Kurchan
equations, and the late-time gap ⟨E_N − E_CK⟩ against 1/N; the printed table extrapolates
E(t) linearly in 1/N.

Run::

    python examples/pspin_ck_vs_finite_n.py            # the figure: N = 64 ... 1024, ~2 h on 2 cores
    python examples/pspin_ck_vs_finite_n.py --cache runs/   # keep each run; reruns add only what is new
    python examples/pspin_ck_vs_finite_n.py --sizes 64 128 256 --samples 8
    python examples/pspin_ck_vs_finite_n.py --smoke    # seconds, used by the tests

The finite-N study, N = 64 ... 2048 with >= 4 disorder samples from N = 512 on (the
committed figure)::

    python examples/pspin_ck_vs_finite_n.py --sizes 64 128 256 512 1024 2048 \
        --samples 8 8 4 4 4 5 --particles 16 16 16 16 16 4 --cache runs/

N = 2048 needs 5.4 GiB (packed float32 couplings, ``SphericalPSpin.memory_needed``) and
3000 gradients per sample (two temperatures, steps dt and 2 dt).  On two cores a gradient
took 2.0 s for 16 particles and 0.6 s for 4 (the kernel is bound by arithmetic, so its time
is nearly proportional to the cloud), so N = 2048 runs 4 particles per sample: 15-16 min per
temperature, 31 min per sample (measured); its first sample, run earlier with 16 particles,
serves its first 4 from the cache.  With 4 particles a sample's mean carries more particle
noise, but the standard errors are taken across samples and include it.  N <= 1024 takes
about 2 h on two cores.
On a GPU (``--backend cupy``, dense float32 couplings, 34 GB at N = 2048) a gradient is one
GEMM that reads the whole tensor, ~8 ms at the H200's 4.3 TB/s, so four N = 2048 samples of
16 particles would take about two minutes (prepared for a GPU session, ``STUDY=1 bash
benchmarks/gpu_device_check.sh``: the example itself has not yet run on a device; its parts,
``DevicePSpin`` and ``simulate(backend="cupy")``, pass the device tests).
Use ``--cache`` so that an interrupted study resumes.
"""

from __future__ import annotations

import math
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sgdsde.integrators import EulerMaruyama  # noqa: E402
from sgdsde.landscapes.pspin import SphericalPSpin  # noqa: E402
from sgdsde.plot import atomic_write, example_parser, folder_argument, save_figure  # noqa: E402
from sgdsde.save import SaveAt  # noqa: E402
from sgdsde.sde import LangevinSDE  # noqa: E402
from sgdsde.simulate import simulate  # noqa: E402
from sgdsde.theory.cugliandolo_kurchan import (  # noqa: E402
    compare_finite_n,
    solve_ck,
    threshold_energy_at,
)
from sgdsde.theory.pspin import PSpinCovariance  # noqa: E402

T_D = math.sqrt(3 / 4)


def run_at_step(landscape, temperature, args, seed, dt, particles):
    """Per-particle energy (n_records, M) and C(t, t_w) of one disorder sample, step dt.

    Particle i's start and noise depend on (seed, i) only, so the first m particles of a
    larger cloud are an m-particle run (equal to rounding: the sums are grouped differently).
    """
    n = landscape.n
    sde = LangevinSDE(landscape, temperature=temperature)
    x0 = landscape.manifold.random(particles, n, seed=seed + 1, dtype=landscape.dtype)
    every = max(1, round(args.record / dt))
    obs = {"energy": landscape.energy_per_spin}
    first = simulate(sde, EulerMaruyama(), x0, dt=dt, t1=args.t_wait, backend=args.backend,
                     save=SaveAt(every=every, observables=obs), seed=seed + 2, progress=args.progress)
    x_wait = np.array(first.final)
    obs2 = {"energy": landscape.energy_per_spin,
            "c_wait": lambda x: np.sum(x * x_wait, axis=1) / n}
    second = simulate(sde, EulerMaruyama(), x_wait, dt=dt, t1=args.t1 - args.t_wait, backend=args.backend,
                      save=SaveAt(every=every, observables=obs2), seed=seed + 3, progress=args.progress)
    t = np.concatenate([first.ts, args.t_wait + second.ts[1:]])
    e = np.concatenate([first.observables["energy"], second.observables["energy"][1:]]).astype(float)
    return t, e, args.t_wait + second.ts, second.observables["c_wait"].astype(float)


def make_landscape(n, seed, dtype, backend):
    """One disorder sample: packed couplings on the CPU, or the same couplings dense on a GPU.

    :class:`~sgdsde.landscapes._pspin_cupy.DevicePSpin` draws the tensor of the CPU model of the
    same seed; with ``--backend cupy`` every gradient is one GEMM on the device (N = 2048 in
    float32: 34 GB of couplings, ~8 ms per gradient of 16 particles on an H200, where the CPU
    takes 1.4 s).
    """
    if backend == "cupy":
        from sgdsde.landscapes._pspin_cupy import DevicePSpin

        return DevicePSpin(n, 3, seed=seed, dtype=dtype)
    return SphericalPSpin(n, 3, seed=seed, dtype=dtype)


def run_sample(landscape, temperature, args, seed, particles):
    """Per-particle energy (n_records, M) and C(t, t_w) of one disorder sample, as dt → 0.

    Euler–Maruyama's averages carry an O(dt) bias (at T = 0.5, dt = 0.01 it is about 0.007
    in the energy per spin, as large as the finite-N effects sought at N ≥ 256), so each
    particle runs at dt and at 2 dt from the same start and the two are combined by
    Richardson extrapolation, 2 X(dt) − X(2 dt), which cancels the O(dt) term.  The runs
    use different noise, so the combination's variance is 4 Var(dt) + Var(2 dt): the
    standard errors downstream include it.  ``--no-richardson`` keeps the plain dt run.
    """
    t, e, tc, c = run_at_step(landscape, temperature, args, seed, args.dt, particles)
    if not args.richardson:
        return t, e, tc, c
    t2, e2, tc2, c2 = run_at_step(landscape, temperature, args, seed, 2 * args.dt, particles)
    if not (np.allclose(t, t2) and np.allclose(tc, tc2)):
        raise ValueError("--record, --t-wait and --t1 must be multiples of 2 --dt for the extrapolation")
    return t, 2 * e - e2, tc, 2 * c - c2


def mean_and_se(per_sample):
    """Mean over samples and particles; SE across sample means (or particles for one sample)."""
    stacked = np.stack(per_sample)  # (S, n_records, M)
    if len(per_sample) > 1:
        means = stacked.mean(axis=2)
        return means.mean(axis=0), means.std(axis=0, ddof=1) / math.sqrt(len(per_sample))
    x = stacked[0]
    return x.mean(axis=1), x.std(axis=1, ddof=1) / math.sqrt(x.shape[1])


def fit_gap(inv_n, gap, se):
    """Weighted least squares gap = b + a/N; returns (b, a) and their standard errors.

    The weights are 1/SE²; the intercept b is the N → ∞ gap, zero if the finite-N dynamics
    tends to the CK solution.
    """
    design = np.column_stack([np.ones_like(inv_n), inv_n])
    w = 1.0 / np.asarray(se) ** 2
    cov = np.linalg.inv(design.T @ (w[:, None] * design))
    coef = cov @ (design.T @ (w * gap))
    return coef, np.sqrt(np.diag(cov))


def _cache_path(args, n, temperature, seed, particles):
    """Where one (N, T, sample) run is kept under ``--cache``, named by every setting it used."""
    if args.cache is None:
        return None
    name = (f"N{n}_T{temperature:g}_seed{seed}_M{particles}_t{args.t1:g}_tw{args.t_wait:g}"
            f"_dt{args.dt:g}_rec{args.record:g}_{'f32' if args.float32 else 'f64'}"
            f"_{'richardson' if args.richardson else 'plain'}"
            f"{'_cupy' if args.backend == 'cupy' else ''}.npz")
    return args.cache / name


def _load_run(args, n, temperature, seed, particles):
    """A kept run of ``particles`` particles, or the first ``particles`` of the smallest kept
    run of the same sample and settings with more (see :func:`run_at_step`); else None."""
    path = _cache_path(args, n, temperature, seed, particles)
    if path is None:
        return None
    if not path.exists():
        head, tail = path.name.split(f"_M{particles}_")  # the name has one particle count
        larger = {}
        for other in path.parent.glob(f"{head}_M*_{tail}"):
            count = other.name[len(head) + 2: len(other.name) - len(tail) - 1]
            if count.isdigit() and int(count) > particles:
                larger[int(count)] = other
        if not larger:
            return None
        path = larger[min(larger)]
    with np.load(path) as f:
        return f["t"], f["e"][:, :particles], f["tc"], f["c"][:, :particles]


def _save_run(args, n, temperature, seed, particles, run):
    """Keep one run under ``--cache``: written to a temporary name, then renamed (atomic)."""
    path = _cache_path(args, n, temperature, seed, particles)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        t, e, tc, c = run
        with atomic_write(path) as f:
            np.savez(f, t=t, e=e, tc=tc, c=c)


def run_size(n, n_samples, particles, args, seed, solutions):
    """At size n, for each temperature of ``solutions`` (T -> CKSolution), over the disorder
    samples: the energy trace (t, mean, se), C(t, t_w) (t, mean, se) and the late-time gap to
    the N → ∞ energy (mean, se).

    Each sample's couplings are drawn once and serve every temperature (at N = 1024 drawing
    them takes longer than a short run).  The gap is E_N(t) − E_CK(t) averaged over the
    second half of the run, particle by particle, then over particles and samples (its SE as
    in :func:`mean_and_se`).
    """
    dtype = np.float32 if args.float32 else np.float64
    runs = {temperature: ([], [], []) for temperature in solutions}
    for s in range(n_samples):
        sample_seed = seed + 100 * s
        done = {temperature: _load_run(args, n, temperature, sample_seed, particles)
                for temperature in solutions}
        landscape = None
        for temperature, ck in solutions.items():
            if done[temperature] is None:
                start = time.perf_counter()
                if landscape is None:
                    landscape = make_landscape(n, sample_seed, dtype, args.backend)
                done[temperature] = run_sample(landscape, temperature, args, sample_seed, particles)
                _save_run(args, n, temperature, sample_seed, particles, done[temperature])
                print(f"  N = {n}, sample {s + 1}/{n_samples}, T = {temperature:g}: "
                      f"{time.perf_counter() - start:.1f} s", flush=True)
            t, e, tc, c = done[temperature]
            energies, corrs, gaps = runs[temperature]
            energies.append(e)
            corrs.append(c)
            late = t >= args.t1 / 2
            gaps.append((e[late] - ck.energy_at(t[late])[:, None]).mean(axis=0)[None, :])
        del landscape
    out = {}
    for temperature, (energies, corrs, gaps) in runs.items():
        gap, gap_se = mean_and_se(gaps)
        out[temperature] = ((t, *mean_and_se(energies)), (tc, *mean_and_se(corrs)), (gap[0], gap_se[0]))
    return out


def main(argv=None):
    parser = example_parser(__doc__, script=__file__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256, 512, 1024])
    parser.add_argument("--temperatures", type=float, nargs="+", default=[0.5, 1.2])
    parser.add_argument("--particles", type=int, nargs="+", default=[16],
                        help="particles per disorder sample: one number, or one per size (the "
                             "first m particles of a kept run with more serve a run of m)")
    parser.add_argument("--samples", type=int, nargs="+", default=[8, 8, 4, 4, 4],
                        help="disorder samples per N: one number, or one per size "
                             "(the SE is across samples when > 1, across particles otherwise)")
    parser.add_argument("--t1", type=float, default=10.0)
    parser.add_argument("--t-wait", type=float, default=2.0, dest="t_wait")
    parser.add_argument("--dt", type=float, default=0.01)
    parser.add_argument("--record", type=float, default=0.5, help="time between records")
    parser.add_argument("--cache", type=folder_argument("--cache"), default=None,
                        help="folder keeping each (N, T, sample) run: an interrupted or extended "
                             "study (more sizes, more samples) reruns only what is missing")
    parser.add_argument("--no-richardson", dest="richardson", action="store_false",
                        help="plain runs at --dt, without the dt -> 0 extrapolation from dt and 2 dt")
    parser.add_argument("--float64", dest="float32", action="store_false",
                        help="couplings in float64 (twice the memory)")
    parser.add_argument("--no-progress", dest="progress", action="store_false",
                        help="no progress bar per run (a line per finished run is still printed)")
    parser.add_argument("--backend", choices=["numba", "cupy"], default="numba",
                        help="cupy: dense couplings and every step on an NVIDIA GPU (extra "
                             "sgdsde[gpu]); runs are cached apart from the CPU ones")
    args = parser.parse_args(argv)
    if args.smoke:
        args.sizes, args.samples, args.particles, args.t1, args.t_wait = [16, 24, 32], [1], [6], 2.0, 0.4
        args.dt, args.record, args.progress = 0.02, 0.2, False
    if not 0 < args.t_wait < args.t1:
        parser.error("--t-wait must lie in (0, --t1)")
    if len(args.sizes) < 2:
        parser.error("--sizes needs at least two sizes (for the 1/N extrapolation)")
    if len(args.samples) == 1:
        args.samples = args.samples * len(args.sizes)
    if len(args.samples) != len(args.sizes) or min(args.samples) < 1:
        parser.error("--samples takes one count >= 1, or one per size")
    if len(args.particles) == 1:
        args.particles = args.particles * len(args.sizes)
    if len(args.particles) != len(args.sizes) or min(args.particles) < 2:
        parser.error("--particles takes one count >= 2, or one per size")

    xi = PSpinCovariance.pure(3)
    fig, axes = plt.subplots(len(args.temperatures), 3, figsize=(16, 4.2 * len(args.temperatures)),
                             squeeze=False, gridspec_kw={"width_ratios": [1.2, 1.2, 0.8]})
    colors = plt.cm.viridis(np.linspace(0.15, 0.85, len(args.sizes)))
    solutions = {}
    for temperature in args.temperatures:
        start = time.perf_counter()
        solutions[temperature] = solve_ck(xi, temperature, args.t1, method="doubling",
                                          n_grid=128 if args.smoke else 512, n_band=2 if args.smoke else 8,
                                          dt0=0.01)
        print(f"T = {temperature}: CK solved to t = {args.t1:g} in {time.perf_counter() - start:.1f} s")
    results = {}
    for n, n_samples, particles in zip(args.sizes, args.samples, args.particles, strict=True):
        start = time.perf_counter()
        results[n] = run_size(n, n_samples, particles, args, seed=1000 * n + 17, solutions=solutions)
        print(f"N = {n}: {n_samples} sample(s) x {particles} particles to t = {args.t1:g} at "
              f"T = {', '.join(f'{t:g}' for t in args.temperatures)} in {time.perf_counter() - start:.1f} s",
              flush=True)
        for temperature in args.temperatures:
            gap, se = results[n][temperature][2]
            print(f"  T = {temperature:g}: late-time gap E_N − E_CK = {gap:+.4f} ± {se:.4f}", flush=True)
    for row, temperature in enumerate(args.temperatures):
        ck = solutions[temperature]
        traces = {n: results[n][temperature][0] for n in args.sizes}
        corrs = {n: results[n][temperature][1] for n in args.sizes}
        gaps = {n: results[n][temperature][2] for n in args.sizes}
        print(f"T = {temperature:g}: energy per spin")
        times = np.linspace(args.t1 / 8, args.t1, 4)
        table = compare_finite_n(ck, traces, times)
        print("     t  " + "  ".join(f"N={n:>5d}" for n in table["sizes"]) + "   1/N->inf ± SE      CK")
        for i, t in enumerate(table["times"]):
            cols = "  ".join(f"{v:8.4f}" for v in table["finite_n"][:, i])
            print(f"{t:6.2f}  {cols}   {table['extrapolated'][i]:8.4f} ± {table['extrapolated_se'][i]:.4f}"
                  f"  {table['ck'][i]:8.4f}")

        ax = axes[row, 0]
        for color, n in zip(colors, args.sizes, strict=True):
            t, e, sem = traces[n]
            ax.plot(t[1:], e[1:], color=color, lw=1.2, label=f"N = {n}")
            ax.fill_between(t[1:], e[1:] - 2 * sem[1:], e[1:] + 2 * sem[1:], color=color, alpha=0.2, lw=0)
        keep = ck.t > 0
        ax.plot(ck.t[keep], ck.energy[keep], "k--", lw=1.5, label="N → ∞ (CK)")
        ax.errorbar(table["times"], table["extrapolated"], yerr=2 * table["extrapolated_se"], fmt="o",
                    color="C3", ms=4, label="1/N extrapolation (±2 SE)")
        ref = -1 / temperature if temperature > T_D else threshold_energy_at(xi, temperature)[0]
        ax.axhline(ref, color="0.5", lw=0.8, ls=":",
                   label="−ξ(1)/T" if temperature > T_D else "threshold E_th(T)")
        ax.set_xscale("log")
        ax.set_xlabel("t")
        ax.set_ylabel("energy per spin E(t)")
        side = "above" if temperature > T_D else "below"
        ax.set_title(f"p = 3, T = {temperature} ({side} T_d = {T_D:.3f})")
        ax.legend(fontsize=8)

        ax = axes[row, 1]
        for color, n in zip(colors, args.sizes, strict=True):
            t, c, sem = corrs[n]
            ax.plot(t - args.t_wait, c, color=color, lw=1.2, label=f"N = {n}")
            ax.fill_between(t - args.t_wait, c - 2 * sem, c + 2 * sem, color=color, alpha=0.2, lw=0)
        tc, cc, _ = ck.column(args.t_wait)
        ax.plot(tc - tc[0], cc, "k--", lw=1.5, label=f"N → ∞ (CK), t_w = {tc[0]:.3g}")
        ax.set_xlabel("t − t_w")
        ax.set_ylabel("C(t, t_w)")
        ax.set_title(f"two-time correlation, t_w = {args.t_wait:g}")
        ax.legend(fontsize=8)

        ax = axes[row, 2]
        inv_n = np.array([1 / n for n in args.sizes])
        gap = np.array([gaps[n][0] for n in args.sizes])
        gap_se = np.array([gaps[n][1] for n in args.sizes])
        ax.errorbar(inv_n, gap, yerr=2 * gap_se, fmt="o", color="C0", capsize=3, label="simulation (±2 SE)")
        (b, a), (b_se, _) = fit_gap(inv_n, gap, gap_se)
        print(f"T = {temperature:g}: late-time gap = b + a/N with b = {b:+.4f} ± {b_se:.4f}, a = {a:+.3f}")
        line = np.linspace(0, 1.1 * inv_n.max(), 50)
        ax.plot(line, b + a * line, color="C0", lw=1, alpha=0.7,
                label=f"weighted fit b + a/N, b = {b:+.4f} ± {b_se:.4f}")
        ax.axhline(0.0, color="k", ls="--", lw=1, label="N → ∞ (CK)")
        ax.set_xlim(0, 1.15 * inv_n.max())
        ax.set_xlabel("1/N")
        ax.set_ylabel("late-time gap ⟨E_N − E_CK⟩")
        ax.set_title(f"mean over t ∈ [{args.t1 / 2:g}, {args.t1:g}]")
        ax.legend(fontsize=8)
    fig.suptitle("Spherical 3-spin Langevin dynamics: finite N against the exact N → ∞ (CK) curves")
    fig.tight_layout()
    save_figure(fig, args.out, "pspin_ck_vs_finite_n", args.smoke, dpi=110)


if __name__ == "__main__":
    main()
