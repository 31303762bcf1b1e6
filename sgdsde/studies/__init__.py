"""Studies: what the library's pieces show when put together, one module per question.

Each study is a set of tested library functions behind an example script
(``examples/<name>.py``) and, where it reproduces a published statement, a ``validate`` row.

* :mod:`.smoothing` — SGD as gradient descent on a noise-smoothed loss (Kleinberg, Li & Yuan
  2018); example ``sgd_smoothing``.
* :mod:`.parity` — the gradient carries exponentially little information about which parity
  is the target (Shalev-Shwartz, Shamir & Shammah 2017, section 2); example
  ``parity_gradient_information``.
* :mod:`.gradient_noise` — noise scale, signal-to-noise and tail indices along training;
  example ``gradient_noise_digits``.
* :mod:`.flat_activations` — no gradient through a piecewise-constant unit; the paper's
  non-gradient rule learns (Shalev-Shwartz et al. 2017, section 5); example
  ``flat_activations``.
* :mod:`.decomposition` — the end-to-end gradient's signal fades with the chain length,
  the decomposed one does not (Shalev-Shwartz et al. 2017, section 3); example
  ``decomposition_vs_end_to_end``.
"""
