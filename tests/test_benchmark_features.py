"""The features benchmark's tasks (benchmarks/features.py, and the GPU check's step built on them) on the tiny
models: what they report comes from real app runs, so a broken task shows here rather than on a lent GPU."""

import os

import pytest

from benchmarks import features, gpu_check
from transcribe_studio.models import canary


@pytest.fixture
def spec(settings, tiny_diarizer, tmp_path) -> dict:
    return {"parakeet_path": str(settings.parakeet_path), "hf_cache_dir": str(settings.hf_cache_dir),
            "diarizer_path": str(tiny_diarizer), "output_dir": str(tmp_path / "outputs"), "device": "cpu"}


def test_the_timing_task_times_canary_then_the_timer_over_its_windows(spec):
    row = features.task_timing(spec, 50.0)
    assert row["windows"] >= 2 and row["words_timed"] >= 10 * row["windows"]  # ~2.5 stand-in words a second
    assert row["canary_seconds"] > 0 and row["timing_pass_seconds"] > 0
    assert row["max_new_tokens"] == round(features.TOKENS_PER_SECOND * 40)
    assert canary.MAX_NEW_TOKENS == 320  # the cap was the task's alone


def test_the_boosting_task_runs_both_ways_alternately(spec):
    row = features.task_boosting(spec, 4.0, runs=2)
    assert len(row["plain"]["runs"]) == len(row["boosted"]["runs"]) == 2
    assert any(note.startswith("Names and terms favoured") for note in row["notes"])


@pytest.mark.parametrize("side", ["app", "raw"])
def test_the_speakers_task_diarizes_the_app_way_and_nemos(spec, side):
    row = features.task_speakers(spec, 20.0, side)
    assert row["side"] == side and row["seconds"] > 0 and row["peak_rss_mb"] > 0


def test_the_gpu_checks_features_step_runs_on_the_cpu(spec, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    for name, key in (("parakeet.nemo", "parakeet_path"), ("hub", "hf_cache_dir"), ("diarizer.nemo", "diarizer_path")):
        os.symlink(spec[key], work / name)
    result = gpu_check.step_features(work, "cpu", tiny=True)
    assert result["timing"]["windows"] >= 1 and result["boosting"]["phrases"] == len(features.VOCABULARY)
    assert [round(r["audio_seconds"]) for r in result["speakers"]] == [20, 120]
    text = "\n".join(gpu_check._features(result))
    assert "Word-timing pass on 4 s" in text and "| 2.0 |" in text


def test_the_report_has_a_table_per_feature_and_names_errors():
    results = {"kind": "tiny", "machine": "cpu", "runs": [
        ("timing", {"audio_seconds": 120, "canary_seconds": 100.0, "timing_pass_seconds": 5.0, "fraction": 0.05,
                    "max_new_tokens": 132, "canary_seconds_per_token": 0.25}),
        ("boosting", {"audio_seconds": 600, "plain": {"median": 90.0, "runs": [90.0]},
                      "boosted": {"median": 91.0, "runs": [91.0]}, "overhead": 1 / 90}),
        ("speakers", {"audio_seconds": 3600, "side": "app", "seconds": 300.0, "rtfx": 12.0, "peak_rss_mb": 2000.0,
                      "peak_above_loaded_mb": 500.0, "turns": 40}),
        ("speakers", {"error": "exit status 1; see x.log", "seconds": 600})]}
    text = features.report(results)
    for expected in ("| 120 | 100.0 | 5.0 | 5.0% | 132 | 0.250 |", "| 600 | 90.00 | 91.00 | +1.1% | 1 |",
                     "| 60 | app | 300.0 | 12.0 | 2000 | 500 | 40 |", "- speakers: exit status 1; see x.log"):
        assert expected in text, expected
