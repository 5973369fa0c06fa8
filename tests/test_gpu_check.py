"""The GPU check's own logic on the CPU (tiny Parakeet, injected budgets), so that on a GPU it only has to run."""

import dataclasses

from benchmarks import folder, gpu_check
from tests.conftest import loaded
from transcribe_studio.models import PARAKEET, ModelCache, gpu


def test_budget_rows_plan_from_the_injected_budget_on_the_cpu(settings):
    cache = ModelCache(settings)
    model = loaded(cache, PARAKEET)
    rows = [gpu_check.budget_row(cache, model, gb, tiny=True) for gb in gpu_check.BUDGETS_GB]
    planned = [row["planned_pass_seconds"] for row in rows]
    assert planned == sorted(planned) and len(set(planned)) == len(planned)  # more memory, longer passes
    assert planned[0] == round(gpu.pass_seconds_for(8 * 10**9, "fp32", gpu.MAX_GPU_PASS_SECONDS))
    assert all(row["ran"] == "not on a GPU" for row in rows)


def test_a_long_file_row_counts_passes_through_the_app(settings):
    cache = ModelCache(dataclasses.replace(settings, parakeet_pass_seconds=20.0))
    model = loaded(cache, PARAKEET)
    row = gpu_check.long_file_row(cache, model, 8, minutes=1.0)
    assert row["passes"] >= 3 and row["out_of_memory_retries"] == 0 and row["words"] > 0
    assert cache.settings.gpu_memory_gb == 0  # the budget was the row's alone
    assert "transcribe" not in vars(model)  # the counting wrapper is gone again


def test_the_folder_step_runs_its_three_paths_on_a_few_tiny_files(settings, tmp_path):
    cache = ModelCache(settings)
    cache.load(PARAKEET)
    result = gpu_check.folder_row(cache, tmp_path, tiny=True)
    assert result["files"] == 4 and result["lengths_s"] == [2.0, 8.0] and result["entry"] == "engine"
    assert all(result["paths"][path]["files_failed"] == 0 and result["paths"][path]["rtfx"] > 0
               for path in folder.PATHS)
    batched = result["paths"]["batched"]
    assert result["rounds"] == 2 and [r["audio_s"] for r in batched["rounds"]] == [20.0, 20.0]  # 2+4+6+8 s
    assert result["ratios"]["batched_vs_raw_median_round"] > 0
    assert sum(call["items"] for call in batched["calls"]) == 8  # every file one window a round, in batched calls
    assert batched["planned"] and batched["gpu_peak_mb"] is None  # the planner was asked; no GPU here
    same = result["batched_vs_one_at_a_time"]
    assert same["files_words_differ"] == 0 and same["max_word_time_diff_s"] == 0.0 and same["words"] > 0
    assert result["batched_round_to_round"]["files_times_differ"] == 0
    assert [row["cpu_batch_items"] for row in result["sweep"]] == [2]
    assert [(s["items"], s["calls"]) for s in result["sweep"][0]["by_size"]] == [(2, 4)]  # 2 calls a round
    text = "\n".join(gpu_check._folder(result))
    assert "### Many files: 4 files of 2-8 s" in text and "words differ in **0 of 4** files" in text
    assert (tmp_path / "folder.json").is_file()  # saved as it went


def test_the_report_has_every_section_and_marks_the_card():
    results = {
        "machine": {"torch": "2.11", "cuda": "13.0", "python": "3.12", "gpu": "NVIDIA H100", "gpu_memory_gb": 85.0,
                    "capability": "9.0", "nemo": "3.0.0"},
        "tiny": False, "device": "cuda", "total_seconds": 120.0,
        "parakeet": {"load_seconds": 3.0, "host_peak_above_start_mb": 800, "gpu_peak_mb": 5000.0, "status": "ok",
                     "speed": [{"minutes": 1, "precision": "bf16", "app_rtfx": 300.0, "raw_rtfx": 500.0}],
                     "decoder": [{"cuda_graphs": True, "rtfx": 500.0}, {"cuda_graphs": False, "error": "boom"}],
                     "budgets": [{"budget_gb": 8, "planned_pass_seconds": 540, "longest_single_pass_ok_seconds": 675,
                                  "gpu_lost": None}],
                     "sixty_minutes_8gb": {"budget_gb": 8, "minutes": 60, "passes": 7, "out_of_memory_retries": 0,
                                           "seconds": 9.5}},
        "canary": {"error": "exit 1", "generate": [{"batch_size": 4, "windows": 8, "seconds": 3.0,
                                                    "audio_seconds_per_second": 100.0}]},
        "folder": {"error": "timed out after 30 s", "paths": {}},
        "cold_start": {"runs": [{"run": 0, "way": "plain", "error": "exit 1"}],
                       "medians": {"app": {"seconds": 2.5, "host_peak_above_start_mb": 300,
                                           "anon_peak_above_start_mb": 290, "gpu_peak_mb": 1300, "model_mb": 1256},
                                   "plain": {"error": "no run finished"}}},
    }
    text = gpu_check.report(results)
    assert text.startswith("## GPU check on NVIDIA H100")
    for expected in ("| Parakeet-TDT-0.6B-v2 | 3.0 | 800 | 5000 | ok |", "| Canary-Qwen-2.5B | - | - | - | exit 1 |",
                     "| 1 | bf16 | 300.0 | 500.0 |", "| False | boom |", "| 8 | 540 | 675 | - |",
                     "7 passes, 0 out-of-memory retries", "| 4 | 8 | 3.0 | 100.0 |", "| app | 2.5 | 300 | 290 | 1300 | 1256 |",
                     "| plain | - | - | - | - | - |", "plain run 0: exit 1", "Stopped: timed out after 30 s"):
        assert expected in text, expected
