"""Data sets: teacher–student laws and reproducibility, digits loading and its optional extra."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from sgdsde.sgd.data import load_digits, teacher_student


def test_teacher_student_regression_law():
    data = teacher_student(20000, 4, label_noise=0.5, seed=3)
    x, y, w = data.inputs, data.targets, data.teacher
    assert x.shape == (20000, 4) and y.shape == (20000,) and w.shape == (4,)
    n = x.shape[0]
    # features N(0, 1): 5 SE on means (SE = 1/sqrt(n)) and variances (SE = sqrt(2/n))
    assert np.all(np.abs(x.mean(axis=0)) < 5 / np.sqrt(n))
    assert np.all(np.abs(x.var(axis=0) - 1) < 5 * np.sqrt(2 / n))
    # residuals of the teacher are the label noise, N(0, 0.25)
    resid = y - x @ w
    assert abs(resid.var() - 0.25) < 5 * 0.25 * np.sqrt(2 / n)
    assert abs(np.corrcoef(resid, x[:, 0])[0, 1]) < 5 / np.sqrt(n)


def test_teacher_student_is_reproducible_and_prefix_stable():
    a = teacher_student(50, 3, seed=9)
    b = teacher_student(80, 3, seed=9)
    np.testing.assert_array_equal(a.inputs, b.inputs[:50])  # example i does not depend on n
    np.testing.assert_array_equal(a.targets, b.targets[:50])
    assert not np.array_equal(a.inputs, teacher_student(50, 3, seed=10).inputs)


def test_teacher_student_classification_labels():
    data = teacher_student(2000, 3, task="classification", label_noise=0.0, seed=1)
    assert set(np.unique(data.targets)) == {0, 1}
    np.testing.assert_array_equal(data.targets, (data.inputs @ data.teacher > 0).astype(int))


def test_teacher_student_bad_input():
    with pytest.raises(ValueError, match="n_examples must be an integer >= 1"):
        teacher_student(0, 3)
    with pytest.raises(ValueError, match="task"):
        teacher_student(10, 3, task="ranking")
    with pytest.raises(ValueError, match="label_noise"):
        teacher_student(10, 3, label_noise=float("nan"))


def test_digits_load_select_and_center():
    pytest.importorskip("sklearn")
    data = load_digits()
    assert data.inputs.shape == (1797, 64) and data.targets.max() == 9
    np.testing.assert_allclose(data.inputs.mean(axis=0), 0.0, atol=1e-12)
    pair = load_digits(classes=[3, 8], center=False)
    assert set(np.unique(pair.targets)) == {0, 1} and 0 <= pair.inputs.min() and pair.inputs.max() <= 1
    assert load_digits(100).n_examples == 100
    with pytest.raises(ValueError, match="n_examples must be <= 1797"):
        load_digits(5000)
    with pytest.raises(ValueError, match="classes"):
        load_digits(classes=[3])


def test_digits_without_scikit_learn_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)  # makes the import fail
    with pytest.raises(ImportError, match=r"sgdsde\[digits\]"):
        load_digits()


@pytest.mark.parametrize("classes", [[1.7, 2.2], ["3", "5"], [True, 2]])
def test_digits_classes_must_be_integers(classes):
    # Before: int(c) turned [1.7, 2.2] into digits [1, 2] and ["3", "5"] into [3, 5] silently
    pytest.importorskip("sklearn")
    with pytest.raises(ValueError, match="classes must be >= 2 distinct digits in 0..9"):
        load_digits(classes=classes)
    assert load_digits(classes=np.array([3, 8])).n_examples == load_digits(classes=[3, 8]).n_examples


@pytest.mark.parametrize("label_noise", ["0.5", True])
def test_teacher_student_label_noise_is_a_number(label_noise):
    # Before: float() read the string "0.5" as 0.5 and True as label noise 1.0
    with pytest.raises(TypeError, match="label_noise must be a finite number >= 0"):
        teacher_student(10, 3, label_noise=label_noise)


def test_digits_center_must_be_a_bool():
    # Before: read by truthiness, so center="no" centred the images
    pytest.importorskip("sklearn")
    with pytest.raises(TypeError, match="center must be True or False"):
        load_digits(10, center="no")
