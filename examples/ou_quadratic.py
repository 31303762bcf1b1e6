"""Ornstein–Uhlenbeck on an anisotropic quadratic: every integrator against the exact law.

A 2-D quadratic U = ½ xᵀAx with eigenvalues 1 and 10 (a stiff direction) at temperature T.
The exact covariance relaxes as Σ(t) = T A⁻¹ (I − e^{−2At}) from a point; the schemes'
stationary variances along the stiff direction differ at a finite step (docs/theory.md §3):
Euler–Maruyama gives T / (k(1 − kh/2)), Leimkuhler–Matthews and BAOAB give T/k exactly.

    python examples/ou_quadratic.py            # 1e5 particles, figure in examples/figures/
    python examples/ou_quadratic.py --smoke    # tiny, for the test suite
"""

from __future__ import annotations

import numpy as np

from sgdsde.plot import example_arguments, save_figure


def main(argv=None):
    args = example_arguments(__doc__, argv, script=__file__)

    import matplotlib.pyplot as plt

    import sgdsde as sd
    from sgdsde.theory import em_stationary_variance

    temperature = 0.5
    k_soft, k_stiff = 1.0, 10.0
    a = np.diag([k_soft, k_stiff])
    quad = sd.landscapes.Quadratic(a)
    m = 2_000 if args.smoke else 100_000
    t1 = 2.0 if args.smoke else 6.0
    x0 = np.tile([2.0, 1.0], (m, 1))

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")

    # left: relaxation of the stiff-direction variance, EM at two steps vs exact
    t = np.linspace(0, t1, 200)
    exact = temperature / k_stiff * (1 - np.exp(-2 * k_stiff * t))
    left.plot(t, exact, "k", lw=1.5, label="exact OU")
    for h in (0.01, 0.1):
        traj = sd.simulate(sd.LangevinSDE(quad, temperature=temperature), sd.integrators.EulerMaruyama(),
                           x0, dt=h, t1=t1, seed=1, progress=False,
                           save=sd.SaveAt(every=max(1, round(0.05 / h)),
                                          observables={"y": lambda x: x[:, 1]}))
        left.plot(traj.ts, traj.observables["y"].var(axis=1), "o", ms=3, label=f"Euler–Maruyama, h = {h}")
        left.axhline(em_stationary_variance(k_stiff, temperature, h), color="0.6", ls=":", lw=1)
    left.set(xlabel="time t", ylabel=r"Var $x_{\rm stiff}$",
             title="Relaxation along the stiff direction (k = 10)")
    left.legend(frameon=False, fontsize=8)

    # right: stationary stiff variance against the step for each scheme
    steps = np.array([0.02, 0.05, 0.1, 0.15])
    schemes = {
        "Euler–Maruyama": (sd.integrators.EulerMaruyama(), None),
        "Leimkuhler–Matthews": (sd.integrators.LeimkuhlerMatthews(), None),
        "BAOAB (γ = 5)": (sd.integrators.BAOAB(), 5.0),
    }
    for name, (scheme, friction) in schemes.items():
        sde = sd.LangevinSDE(quad, temperature=temperature, friction=friction)
        var, err = [], []
        for h in steps:
            n_relax = int(np.ceil(3.0 / h))
            traj = sd.simulate(sde, scheme, np.zeros((m, 2)), dt=h, n_steps=n_relax, seed=2, progress=False,
                               save=sd.SaveAt(every=n_relax, start=False))
            y = traj.final[:, 1]
            var.append(y.var())
            err.append(y.var() * np.sqrt(2 / m))  # SE of a Gaussian sample variance
        unit = temperature / k_stiff
        right.errorbar(steps, np.array(var) / unit, yerr=np.array(err) / unit, fmt="o-", ms=4, capsize=2,
                       label=name)
    hh = np.linspace(0, steps.max() * 1.05, 100)
    right.plot(hh, 1 / (1 - k_stiff * hh / 2), "C0:", label=r"EM theory $1/(1-kh/2)$")
    right.axhline(1.0, color="k", lw=1, label="exact (T/k)")
    right.set(xlabel="step h", ylabel=r"stationary Var $x_{\rm stiff}$ / (T/k)",
              title=f"Invariant-measure error, {m} particles")
    right.legend(frameon=False, fontsize=8)
    save_figure(fig, args.out, "ou_quadratic", args.smoke)


if __name__ == "__main__":
    main()
