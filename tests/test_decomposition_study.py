"""End-to-end vs decomposition: the model's gradients, the fading SNR, the parts learned fast."""

from __future__ import annotations

import numpy as np
import pytest

from sgdsde.measure.gradient_stats import signal_to_noise
from sgdsde.studies.decomposition import ProductOfSigns, composite_accuracy, product_of_signs_data


@pytest.mark.parametrize("objective", ["end_to_end", "decomposed"])
def test_gradients_match_finite_differences_and_per_example_sums(objective):
    x, primitive, composite, _ = product_of_signs_data(50, 3, 4, seed=1)
    model = ProductOfSigns(x, composite if objective == "end_to_end" else primitive, 3, objective,
                           weight_decay=0.01)
    theta = np.random.default_rng(2).normal(size=(2, 4))
    eps = 1e-6
    fd = np.stack([(model.energy(theta + eps * e) - model.energy(theta - eps * e)) / (2 * eps)
                   for e in np.eye(4)], axis=1)
    np.testing.assert_allclose(model.grad(theta), fd, atol=1e-7)  # central differences, O(eps²)
    np.testing.assert_allclose(model.per_example_grads(theta).mean(axis=1), model.grad(theta), atol=1e-13)
    idx = np.array([[0, 3, 3], [7, 1, 2]])
    expected = np.stack([model.per_example_grads(theta[m:m + 1], idx[m])[0].mean(axis=0) for m in range(2)])
    np.testing.assert_allclose(model.batch_grad(theta, idx), expected, atol=1e-13)


def test_end_to_end_signal_fades_with_k_and_decomposed_does_not():
    theta = 0.3 * np.random.default_rng(3).normal(size=(8, 6))
    e2e, dec = [], []
    for k in (1, 2, 3):
        x, primitive, composite, _ = product_of_signs_data(4000, k, 6, seed=k)
        e2e.append(np.median(signal_to_noise(ProductOfSigns(x, composite, k), theta)[1]))
        dec.append(np.median(signal_to_noise(ProductOfSigns(x, primitive, k, "decomposed"), theta)[1]))
    assert e2e[0] == pytest.approx(dec[0])  # k = 1: the two objectives coincide
    assert e2e[1] < e2e[0] / 3 and e2e[2] < e2e[1] / 3  # measured ratio ~ 1/5 per slot
    assert dec[2] > dec[0]


def test_decomposed_training_learns_the_composite_task():
    x, primitive, composite, teacher = product_of_signs_data(2000, 3, 6, seed=4)
    x_test, _, y_test, _ = product_of_signs_data(1000, 3, 6, seed=5, teacher=teacher)
    model = ProductOfSigns(x, primitive, 3, "decomposed")
    theta = 0.3 * np.random.default_rng(6).normal(size=(2, 6))
    assert np.all(np.abs(composite_accuracy(model, theta, x_test, y_test) - 0.5) < 0.2)
    for _ in range(200):
        theta = theta - 0.5 * model.grad(theta)
    assert np.all(composite_accuracy(model, theta, x_test, y_test) > 0.95)


def test_bad_input_is_named():
    x, primitive, composite, _ = product_of_signs_data(10, 2, 3)
    with pytest.raises(ValueError, match="targets must have shape"):
        ProductOfSigns(x, composite, 2, "decomposed")
    with pytest.raises(ValueError, match="k must be an integer >= 1 dividing"):
        ProductOfSigns(x, composite, 4)
    with pytest.raises(ValueError, match="objective must be one of"):
        ProductOfSigns(x, composite, 2, "joint")
    with pytest.raises(ValueError, match="teacher must have shape"):
        product_of_signs_data(10, 2, 3, teacher=np.ones(4))
    with pytest.raises(NotImplementedError, match="no Hessian-vector product"):
        ProductOfSigns(x, composite, 2).hvp(np.zeros((1, 3)), np.zeros(3))


@pytest.mark.parametrize("labels", [np.array([1.0]), np.ones((10, 1)), np.ones(9)])
def test_composite_accuracy_needs_one_label_per_input(labels):
    # Before: a single label broadcast against every input (accuracy against a constant,
    # returned as a number); other shapes failed inside NumPy's broadcasting.
    x, _, composite, _ = product_of_signs_data(10, 2, 3)
    model = ProductOfSigns(x, composite, 2)
    theta = np.full((2, 3), 0.1)
    with pytest.raises(ValueError, match=r"composite must have shape \(n,\) = \(10,\)"):
        composite_accuracy(model, theta, x, labels)
    assert composite_accuracy(model, theta, x, composite).shape == (2,)


def test_non_finite_teacher_raises():
    # Before: a NaN teacher gave NaN labels (sign(nan)) without a word
    with pytest.raises(ValueError, match="teacher must be finite and non-zero"):
        product_of_signs_data(10, 2, 3, teacher=np.array([1.0, np.nan, 0.0]))
    with pytest.raises(ValueError, match="teacher must be finite and non-zero"):
        product_of_signs_data(10, 2, 3, teacher=np.zeros(3))
