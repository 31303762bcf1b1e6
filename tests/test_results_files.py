"""Trajectory files: bad files give one clear error and are closed; saves leave no debris (issue 15, 6-7)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import sgdsde as sd
from sgdsde.results import Trajectory, TrajectoryFileError


def _trajectory() -> Trajectory:
    return Trajectory(ts=np.arange(3.0), steps=np.arange(3), observables={"e": np.ones((3, 4))},
                      final=np.arange(8.0).reshape(4, 2), final_velocity=None, step=2,
                      stats={"n_steps": 2}, settings={"target_step": 2, "dt": 0.5})


def _open_files() -> set[str]:
    fds = Path("/proc/self/fd")
    if not fds.is_dir():
        pytest.skip("needs /proc to list open files")
    out = set()
    for fd in fds.iterdir():
        try:
            out.add(os.readlink(fd))
        except OSError:
            pass
    return out


def _valid_bytes(tmp_path) -> bytes:
    return _trajectory().save(tmp_path / "valid.npz").read_bytes()


def _empty(tmp_path):
    return b""


def _random(tmp_path):
    return np.frombuffer(np.random.SeedSequence(1).generate_state(256, dtype=np.uint32).tobytes(),
                         dtype=np.uint8).tobytes()


def _truncated(tmp_path):
    data = _valid_bytes(tmp_path)
    return data[: len(data) // 2]


def _damaged_inside(tmp_path):  # a valid zip directory, one compressed member overwritten
    data = bytearray(_valid_bytes(tmp_path))
    data[60:200] = bytes(140)
    return bytes(data)


def _foreign_npz(tmp_path):
    np.savez(tmp_path / "foreign.npz", a=np.arange(3))
    return (tmp_path / "foreign.npz").read_bytes()


def _npy(tmp_path):
    np.save(tmp_path / "array.npy", np.arange(3))
    return (tmp_path / "array.npy").read_bytes()


def _wrong_json(tmp_path):
    np.savez(tmp_path / "j.npz", ts=np.arange(2.0), steps=np.arange(2), final=np.zeros((2, 1)),
             meta=np.array("{this is not json"))
    return (tmp_path / "j.npz").read_bytes()


def _json_without_keys(tmp_path):
    np.savez(tmp_path / "k.npz", ts=np.arange(2.0), steps=np.arange(2), final=np.zeros((2, 1)),
             meta=np.array('{"step": 1}'))
    return (tmp_path / "k.npz").read_bytes()


@pytest.mark.parametrize(("make", "reason"), [
    (_empty, "not an sgdsde trajectory"),
    (_random, "not an sgdsde trajectory"),
    (_npy, "not an sgdsde trajectory"),
    (_foreign_npz, "not an sgdsde trajectory"),
    (_wrong_json, "not an sgdsde trajectory"),
    (_json_without_keys, "not an sgdsde trajectory"),
    (_truncated, "file truncated or corrupted"),
    (_damaged_inside, "file truncated or corrupted"),
])
def test_a_bad_file_gives_one_clear_error_and_is_closed(tmp_path, make, reason):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(make(tmp_path))
    before = _open_files()
    with pytest.raises(TrajectoryFileError, match=f"{reason}.*: {bad}$") as info:
        Trajectory.load(bad)
    assert info.value.path == bad
    assert isinstance(info.value, ValueError)
    assert str(bad) not in _open_files() - before
    # resume= reads through the same path
    sde = sd.LangevinSDE(sd.landscapes.DoubleWell(), temperature=0.5)
    with pytest.raises(TrajectoryFileError, match=reason):
        sd.simulate(sde, sd.integrators.EulerMaruyama(), None, dt=0.5, n_steps=4, resume=bad, progress=False)


def test_missing_file_and_directory_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere"):
        Trajectory.load(tmp_path / "nothere.npz")
    with pytest.raises(IsADirectoryError, match="is a directory"):
        Trajectory.load(tmp_path)


def test_round_trip(tmp_path):
    traj = _trajectory()
    back = Trajectory.load(traj.save(tmp_path / "t.npz"))
    np.testing.assert_array_equal(back.final, traj.final)
    np.testing.assert_array_equal(back.observables["e"], traj.observables["e"])
    assert back.settings == traj.settings and back.step == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.npz"]


def test_save_to_a_directory_raises_and_leaves_nothing(tmp_path):
    target = tmp_path / "folder"
    target.mkdir()
    with pytest.raises(IsADirectoryError, match="is a directory"):
        _trajectory().save(target)
    assert list(target.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["folder"]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        _trajectory().save(tmp_path / "missing" / "t.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder"]


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary(tmp_path, monkeypatch):
    path = _trajectory().save(tmp_path / "t.npz")
    old = path.read_bytes()

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", fail)
    with pytest.raises(OSError, match="disk full"):
        _trajectory().save(path)
    assert path.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.npz"]
