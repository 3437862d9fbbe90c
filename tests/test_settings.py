"""Run profiles, seeding and the banner."""

import numpy as np
import pytest

from mi_lib import settings


def test_profile_from_the_environment(monkeypatch):
    monkeypatch.setenv("MI_PROFILE", "full")
    assert settings.profile().name == "full"
    monkeypatch.setenv("MI_PROFILE", "Quick")
    assert settings.profile().name == "quick"


def test_auto_follows_the_device(monkeypatch):
    monkeypatch.setenv("MI_PROFILE", "auto")
    expected = "full" if settings.gpu_names() else "quick"
    assert settings.profile().name == expected


def test_unknown_profile_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("MI_PROFILE", "fast")
    with pytest.raises(ValueError, match="MI_PROFILE"):
        settings.profile()


def test_full_is_larger_than_quick():
    quick, full = settings.PROFILES["quick"], settings.PROFILES["full"]
    for field in ("samples", "steps", "seeds", "mc_samples", "sweep"):
        assert getattr(full, field) > getattr(quick, field)


def test_setup_seeds_numpy_and_prints_one_line(capsys):
    settings.setup(seed=7, profile_name="quick")
    first = np.random.rand(3)
    settings.setup(seed=7, profile_name="quick")
    np.testing.assert_array_equal(first, np.random.rand(3))
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("mi_lib | profile quick | device ")
    assert "TensorFlow" in lines[0]
