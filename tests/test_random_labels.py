"""Label corruption, random pixels and steps-to-fit of an SGD ensemble."""

from __future__ import annotations

import numpy as np
import pytest

from sgdsde.generalisation.random_labels import accuracy, corrupt_labels, random_pixels, train_to_fit
from sgdsde.landscapes.mlp import MLP
from sgdsde.random import STREAM_USER, normals


def test_corrupt_labels_replaces_exactly_the_fraction():
    y = np.arange(1000) % 10
    for rho in (0.0, 0.2, 0.5, 1.0):
        out = corrupt_labels(y, rho, 10, seed=3)
        assert out.dtype == np.int64 and out.min() >= 0 and out.max() <= 9
        # exactly round(ρn) replaced; a replaced label keeps its value with probability 1/10,
        # so the changed count is Binomial(round(ρn), 0.9): within 5 sd of its mean
        changed = np.sum(out != y)
        m = round(rho * 1000)
        assert abs(changed - 0.9 * m) <= 5 * np.sqrt(m * 0.09) + 1e-9
    np.testing.assert_array_equal(corrupt_labels(y, 0.0, 10, seed=3), y)
    np.testing.assert_array_equal(corrupt_labels(y, 0.5, 10, seed=3), corrupt_labels(y, 0.5, 10, seed=3))
    # at ρ = 1 the labels are independent of the truth: each class ≈ 100 times (5 sd of Binomial)
    counts = np.bincount(corrupt_labels(y, 1.0, 10, seed=4), minlength=10)
    assert np.all(np.abs(counts - 100) <= 5 * np.sqrt(1000 * 0.1 * 0.9))
    # nested: the examples corrupted at ρ = 0.2 are among those corrupted at ρ = 0.5
    small, big = corrupt_labels(y, 0.2, 10, seed=5) != y, corrupt_labels(y, 0.5, 10, seed=5) != y
    assert np.all(big[small])


def test_random_pixels_permutes_each_image_independently():
    x = np.tile(np.arange(16.0), (50, 1))
    out = random_pixels(x, seed=2)
    np.testing.assert_array_equal(np.sort(out, axis=1), x)  # a permutation of each row
    assert len({tuple(row) for row in out}) == 50  # different per image
    # the mean position of each pixel value is uniform: ≈ 7.5 (sd of a uniform index / sqrt(50))
    positions = np.argsort(out, axis=1).mean(axis=0)
    assert np.all(np.abs(positions - 7.5) <= 5 * np.sqrt((16**2 - 1) / 12 / 50))


def test_train_to_fit_records_the_first_perfect_step():
    x = normals(1, np.arange(40), 0, 6, STREAM_USER + 43)
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    net = MLP(x, y, widths=(16,), activation="tanh")
    theta0 = net.init_params(4, seed=2)
    res = train_to_fit(net, theta0, lr=0.5, batch_size=8, n_steps=600, check_every=20, seed=3, test=(x, y))
    assert res.train_accuracy.shape == (31, 4) and res.fitted.all()
    for m in range(4):
        k = int(np.searchsorted(res.steps, res.steps_to_fit[m]))
        assert res.train_accuracy[k, m] == 1.0 and np.all(res.train_accuracy[:k, m] < 1.0)
    np.testing.assert_array_equal(res.test_accuracy_at_fit, 1.0)  # the test set is the training set here
    np.testing.assert_allclose(accuracy(net, res.final, x, y), res.train_accuracy[-1])
    # an impossible task (contradictory duplicates) is never fitted
    net2 = MLP(np.vstack([x, x]), np.concatenate([y, 1 - y]), widths=(4,))
    res2 = train_to_fit(net2, net2.init_params(2, seed=1), lr=0.1, batch_size=8, n_steps=60, check_every=20,
                        seed=3)
    assert np.all(np.isinf(res2.steps_to_fit)) and np.all(np.isnan(res2.test_accuracy_at_fit))


def test_bad_input():
    y = np.arange(10) % 3
    for rho in (-0.1, 1.5):
        with pytest.raises(ValueError, match=r"ρ\) must lie in \[0, 1\]"):
            corrupt_labels(y, rho, 3, seed=1)
    with pytest.raises(ValueError, match="fraction must be a finite number"):
        corrupt_labels(y, np.nan, 3, seed=1)
    with pytest.raises(ValueError, match="n_classes"):
        corrupt_labels(y, 0.5, 1, seed=1)
    with pytest.raises(ValueError, match="labels must lie"):
        corrupt_labels(y, 0.5, 2, seed=1)
    with pytest.raises(ValueError, match="inputs"):
        random_pixels(np.ones(5), seed=1)
    net = MLP(np.ones((4, 2)), np.array([0.0, 1.0, 0.5, 0.2]), widths=(2,), loss="mse")
    with pytest.raises(ValueError, match="classifier"):
        train_to_fit(net, net.init_params(1, seed=0), lr=0.1, batch_size=2, n_steps=1, check_every=1, seed=0)


def test_accuracy_rejects_labels_the_network_cannot_output():
    # float labels (0.5) and classes >= n_outputs never equal an argmax: accuracy came back 0
    x = normals(1, np.arange(10), 0, 3, STREAM_USER + 47)
    y = (x[:, 0] > 0).astype(int)
    net = MLP(x, y, widths=(4,))
    theta = net.init_params(2, seed=0)
    with pytest.raises(ValueError, match="labels"):
        accuracy(net, theta, x, y + 0.5)
    with pytest.raises(ValueError, match="labels"):
        accuracy(net, theta, x, y + 2)
    np.testing.assert_array_equal(accuracy(net, theta, x, y) + accuracy(net, theta, x, 1 - y), 1.0)


def test_accuracy_of_non_finite_outputs_raises():
    # NaN logits have argmax 0: a NaN network scored the fraction of class-0 labels (here 0.5)
    x = normals(1, np.arange(10), 0, 3, STREAM_USER + 47)
    y = np.arange(10) % 2
    net = MLP(x, y, widths=(4,))
    theta = net.init_params(2, seed=0)
    theta[1, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        accuracy(net, theta, x, y)
