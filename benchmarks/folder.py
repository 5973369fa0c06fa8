"""Many files: the app's batched path against the app one file at a time and against raw NeMo, in one run.

    python -m benchmarks.folder --nemo /tmp/cs/full/parakeet.nemo --files 60 --out DIR [--device cpu|cuda]
                                [--batch-sizes 4,8,16]

(a missing ``--nemo`` file is built first: the full-size architecture of :mod:`benchmarks.full_models`).
On a GPU the check runs it as ``python3 -m benchmarks.gpu_check --only folder`` (300 files).

It writes a folder of ``--files`` speech-like files (bursts of tests/media.py's ``speechlike`` between
``room_tone`` pauses) as 16 kHz WAV, their lengths spread evenly over 2-60 s and shuffled (seeded: every run
has the same folder), then loads Parakeet once through the app (``ModelCache``) and times, on that one model:

* ``batched``: the app over the whole folder, ``batch.run_batch`` (decode, windows, model calls across files,
  txt and json saved);
* ``one_at_a_time``: the app file by file, ``batch.transcribe_file`` (the same, one file per call);
* ``raw``: ``model.transcribe(paths, longest first, batch_size=N, timestamps=True, num_workers=0)``, NeMo reading
  the files itself, as its users do (N: the app's CPU batch size on the CPU, 128 on a GPU, as NeMo's throughput
  recipe; halved until it fits).

``--rounds R`` interleaves them for a shared machine: R rounds over the whole folder, every way once a round, in an
order turned each round; the figures are the rounds summed (and the median of the rounds' own ratios beside them).

With ``entry="engine"`` (the GPU machine, which has no PyAV for ``decode_audio``) the app's side is its engine:
``batched.transcribe_files`` and ``engine.transcribe``, the files read with soundfile, nothing saved.

For each: wall time, throughput (seconds of audio per second: RTFx), the peak RSS while it ran (VmRSS sampled
every 20 ms in a thread, all paths in this one process, the model loaded before), the CPU other processes took
meanwhile, and on a GPU ``torch.cuda.max_memory_allocated`` (reset before each path and each batched call). Then
the ratios against their goals (batched >= 0.8x raw; >= 3x one at a time on a GPU, not slower on the CPU), how
many files' words differ between batched and one at a time (padding in a batch must change nothing) and the
largest word-time difference, every batched call (pieces, the longest, padding, seconds, GPU peak against the
planner's estimate) and, on the CPU, the batched path again for each ``--batch-sizes`` value
(``nemo_asr.CPU_BATCH_ITEMS`` patched). ``folder.json`` and ``folder.md`` go to ``--out``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
import time
from pathlib import Path
from typing import Callable

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import common  # noqa: E402

RATE = 16000
SHORTEST, LONGEST = 2.0, 60.0
FORMATS = ["txt", "json"]
RAW_GPU_BATCH = 128  # the Open ASR Leaderboard's batch size for Parakeet (gpu.MAX_BATCH_ITEMS)
PATHS = ("batched", "one_at_a_time", "raw")


# --- the folder -------------------------------------------------------------------------------------

def file_lengths(count: int, shortest: float = SHORTEST, longest: float = LONGEST, seed: int = 0) -> list[float]:
    """``count`` lengths evenly spread over [shortest, longest], shuffled: sorting is the paths' own job."""
    import numpy as np

    step = (longest - shortest) / max(count - 1, 1)
    lengths = [round(shortest + i * step, 2) for i in range(count)]
    return [lengths[i] for i in np.random.default_rng(seed).permutation(count)]


def speech_audio(seconds: float, seed: int):
    """Speech-like bursts of 1.5-6 s between pauses of 0.3-1 s (as ``full_models.calibration_audio``, whose
    speech the full-size model's blank bias was calibrated on), exactly ``seconds`` long."""
    import numpy as np

    from tests import media

    rng = np.random.default_rng(seed)
    parts, total = [media.room_tone(0.2, seed=seed)], 0.2
    while total < seconds:
        talk, pause = float(rng.uniform(1.5, 6.0)), float(rng.uniform(0.3, 1.0))
        parts += [media.speechlike(talk, seed=int(rng.integers(1 << 30))), media.room_tone(pause, seed=len(parts))]
        total += talk + pause
    return np.concatenate(parts)[: int(seconds * RATE)]


def write_folder(folder: Path, count: int, shortest: float = SHORTEST, longest: float = LONGEST, seed: int = 0,
                 workers: int = 1) -> list[Path]:
    """The benchmark's folder: ``count`` 16 kHz mono WAV files (soundfile: no PyAV needed), named in input order;
    files already there are kept (the same seed makes the same folder). ``workers`` > 1: made in forked
    processes (300 files are ~30 s of one core)."""
    folder.mkdir(parents=True, exist_ok=True)
    jobs = [(folder / f"talk{index:03d}.wav", seconds, seed * 100_003 + index)
            for index, seconds in enumerate(file_lengths(count, shortest, longest, seed))]
    todo = [job for job in jobs if not job[0].is_file()]
    if workers > 1 and len(todo) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            list(pool.map(_write_file, todo))
    else:
        for job in todo:
            _write_file(job)
    return [path for path, _, _ in jobs]


def _write_file(job: tuple[Path, float, int]) -> None:
    import soundfile

    path, seconds, seed = job
    partial = path.with_name(path.stem + ".partial.wav")  # a run stopped mid-write leaves no short file to reuse
    soundfile.write(partial, speech_audio(seconds, seed), RATE, subtype="PCM_16")
    os.replace(partial, path)


def read_wav(path: Path):
    """A 16 kHz mono WAV as float32 (the engine entry's decoder: decoding is not what is measured)."""
    import numpy as np
    import soundfile

    audio, rate = soundfile.read(path, dtype="float32")
    assert rate == RATE and audio.ndim == 1, (path, rate, audio.shape)
    return np.ascontiguousarray(audio)


def audio_seconds(path: Path) -> float:
    import soundfile

    return soundfile.info(path).frames / RATE


# --- memory and CPU readings ---------------------------------------------------------------------------

class RssPeak(common.AnonPeak):
    """The highest VmRSS sampled in a thread (every 20 ms) while a path runs."""

    def __init__(self):
        super().__init__(interval_s=0.02)

    @staticmethod
    def _read() -> float | None:
        return common.rss_mb()


class GpuPeak:
    """``torch.cuda.max_memory_allocated`` over a path, kept across the resets of the per-call readings inside it."""

    def __init__(self):
        self.highest: float | None = None

    @staticmethod
    def _cuda():
        import torch

        return torch.cuda if torch.cuda.is_available() else None

    def start(self) -> None:
        if self._cuda():
            self._cuda().empty_cache()
            self._cuda().reset_peak_memory_stats()
            self.highest = 0.0

    def read(self) -> float | None:
        if not self._cuda():
            return None
        value = self._cuda().max_memory_allocated() / 1e6
        self.highest = max(self.highest or 0.0, value)
        return value

    def restart(self) -> float | None:
        """Keep what was reached, then start a fresh reading (for one call); the memory allocated now."""
        if not self._cuda():
            return None
        self.read()
        self._cuda().reset_peak_memory_stats()
        return self._cuda().memory_allocated() / 1e6


GPU = GpuPeak()


def measured(audio_s: float, work: Callable[[], object]) -> tuple[dict, object]:
    """``work()`` timed, with the RSS peak it reached, the GPU peak and the CPU other processes took meanwhile."""
    from benchmarks.run import contention, cpu_snapshot

    common.release_free_memory()
    GPU.start()
    before, start_mb = cpu_snapshot(), common.rss_mb()
    with RssPeak() as rss:
        started = time.perf_counter()
        value = work()
        _synchronize()
        seconds = time.perf_counter() - started
    GPU.read()
    return {"seconds": round(seconds, 2), "rtfx": round(audio_s / seconds, 2), "rss_start_mb": round(start_mb),
            "rss_peak_mb": round(rss.peak_mb), "rss_peak_above_start_mb": round(rss.peak_mb - start_mb),
            "gpu_peak_mb": None if GPU.highest is None else round(GPU.highest),
            "other_processes": contention(before, cpu_snapshot())}, value


def _synchronize() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


# --- the batched calls, recorded -------------------------------------------------------------------------

@contextlib.contextmanager
def recorded_calls(key: str):
    """Every batched model call of ``key`` while inside: pieces, the longest, the audio, seconds, GPU peak; and
    each answer of the planner (``spec.batch_items``). The real calls run; the spec comes back after."""
    from transcribe_studio.models import spec as specs

    spec, calls, planned = specs.get(key), [], []

    def batch_items(settings, model, longest_seconds):
        items = spec.batch_items(settings, model, longest_seconds)
        planned.append({"longest_s": round(longest_seconds, 2), "items": items})
        return items

    def transcribe_batch(model, pieces, settings):
        allocated_mb, started = GPU.restart(), time.perf_counter()
        heard = spec.transcribe_batch(model, pieces, settings)
        _synchronize()
        calls.append(_call_row(model, pieces, time.perf_counter() - started, allocated_mb, GPU.read()))
        return heard
    specs.register(dataclasses.replace(spec, batch_items=batch_items, transcribe_batch=transcribe_batch))
    try:
        yield calls, planned
    finally:
        specs.register(spec)


def _call_row(model, pieces, seconds: float, allocated_mb: float | None, peak_mb: float | None) -> dict:
    from transcribe_studio.models import gpu

    longest = max(len(piece) for piece in pieces) / RATE
    heard = sum(len(piece) for piece in pieces) / RATE
    precision = gpu.precision_of(model)
    per_piece = (gpu.ATTENTION_BYTES_PER_FRAME2[precision] * (longest * gpu.FRAMES_PER_SECOND) ** 2
                 + gpu.ACTIVATION_BYTES_PER_SECOND[precision] * longest)
    return {"items": len(pieces), "longest_s": round(longest, 2), "audio_s": round(heard, 2),
            "padding_share": round(1 - heard / (longest * len(pieces)), 3), "seconds": round(seconds, 3),
            "gpu_above_start_mb": None if peak_mb is None else round(peak_mb - allocated_mb),
            "estimate_mb": round(len(pieces) * per_piece / 1e6)}


def calls_by_size(calls: list[dict]) -> list[dict]:
    """The batched calls grouped by their number of pieces."""
    rows = []
    for items in sorted({c["items"] for c in calls}, reverse=True):
        same = [c for c in calls if c["items"] == items]
        gpu = [c["gpu_above_start_mb"] for c in same if c["gpu_above_start_mb"] is not None]
        rows.append({"items": items, "calls": len(same), "longest_s": [min(c["longest_s"] for c in same),
                                                                       max(c["longest_s"] for c in same)],
                     "audio_s": round(sum(c["audio_s"] for c in same), 1),
                     "seconds": round(sum(c["seconds"] for c in same), 2),
                     "padding_share": round(1 - sum(c["audio_s"] for c in same)
                                            / sum(c["longest_s"] * c["items"] for c in same), 3),
                     "gpu_above_start_mb_max": max(gpu) if gpu else None,
                     "estimate_mb_max": max(c["estimate_mb"] for c in same)})
    return rows


# --- the three paths --------------------------------------------------------------------------------------

def _output_dir_for(root: Path) -> Callable[[Path], Path]:
    def output_dir_for(source: Path) -> Path:
        folder = root / source.stem
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return output_dir_for


def run_batched(cache, files: list[Path], out: Path, entry: str) -> dict[Path, list]:
    """The app's batched path over all ``files``: each file's words, or its error."""
    from transcribe_studio.models import PARAKEET
    from transcribe_studio.transcription import batch, batched

    if entry == "app":
        done = batch.run_batch(cache, PARAKEET, files, FORMATS, output_dir_for=_output_dir_for(out))
    else:
        done = batched.transcribe_files(cache, PARAKEET, files, read_wav)
    return {result.source: _words_or_error(result) for result in done}


def run_one_at_a_time(cache, files: list[Path], out: Path, entry: str) -> dict[Path, list]:
    """The app file by file (its one-file path): each file's words, or its error."""
    from transcribe_studio.models import PARAKEET
    from transcribe_studio.transcription import batch, engine

    words = {}
    for source in files:
        if entry == "app":
            folder = _output_dir_for(out)(source)
            result = batch.transcribe_file(cache, PARAKEET, source, FORMATS, output_name=source.name,
                                           output_dir=folder)
            words[source] = _words_or_error(result)
        else:
            words[source] = _app_words(engine.transcribe(cache, PARAKEET, read_wav(source)))
    return words


def run_raw(model, files: list[Path], batch_size: int) -> dict[Path, list]:
    """NeMo's own batched call on the paths, longest first, as its throughput recipe does: each file's words."""
    import torch

    seconds = {path: audio_seconds(path) for path in files}
    ordered = sorted(files, key=seconds.get, reverse=True)
    with torch.inference_mode():
        hypotheses = model.transcribe([str(p) for p in ordered], batch_size=batch_size, timestamps=True,
                                      num_workers=0, verbose=False)
    return {path: _raw_words(h, seconds[path]) for path, h in zip(ordered, hypotheses)}


def _raw_words(hypothesis, duration: float) -> list[tuple[float, float, str]]:
    """NeMo's word times, held inside the file as the app holds them (NeMo pads to whole frames, so a last word
    can end past the audio): the comparison then shows what hearing differently changed, not the clamp."""
    stamps = hypothesis.timestamp if isinstance(hypothesis.timestamp, dict) else {}
    return [(min(float(w["start"]), duration), min(float(w["end"]), duration), w["word"])
            for w in stamps.get("word", []) if float(w["start"]) < duration]


def _app_words(transcript) -> list[tuple[float, float, str]]:
    return [(w.start, w.end, w.text) for w in transcript.words]


def _words_or_error(result):
    return _app_words(result.transcript) if result.transcript is not None else f"error: {result.error}"


def raw_with_fallback(model, files: list[Path], batch_size: int) -> tuple[int, dict[Path, list]]:
    """:func:`run_raw`, its batch halved after running out of memory (reported: a baseline that fits)."""
    import torch

    while True:
        try:
            return batch_size, run_raw(model, files, batch_size)
        except torch.OutOfMemoryError:
            if batch_size == 1:
                raise
            torch.cuda.empty_cache()
            batch_size //= 2


# --- comparisons ---------------------------------------------------------------------------------------

TIME_TOLERANCE_S = 0.001  # word times are multiples of 80 ms frames: anything above rounding is a moved word


def differences(first: dict[Path, list], second: dict[Path, list]) -> dict:
    """How many files' words differ (text), and the largest start or end difference where the words agree
    (with the file and the word where it is)."""
    differ, failed, largest, where, moved = [], [], 0.0, None, 0
    for path, words in first.items():
        other = second.get(path)
        if isinstance(words, str) or isinstance(other, str) or other is None:
            failed.append(path.name)
        elif [w[2] for w in words] != [w[2] for w in other]:
            differ.append(path.name)
        else:
            gaps = [max(abs(mine[0] - theirs[0]), abs(mine[1] - theirs[1])) for mine, theirs in zip(words, other)]
            moved += any(gap > TIME_TOLERANCE_S for gap in gaps)
            for gap, mine, theirs in zip(gaps, words, other):
                if gap > largest:
                    largest, where = gap, {"file": path.name, "words": [list(mine), list(theirs)]}
    return {"files": len(first), "files_words_differ": len(differ), "differ": differ[:10], "failed": failed[:10],
            "files_failed": len(failed), "max_word_time_diff_s": round(largest, 4), "largest_at": where,
            "files_times_differ": moved,
            "words": sum(len(w) for w in first.values() if not isinstance(w, str)),
            # a random-weight model may say one word throughout: then equal words prove little, the times more
            "distinct_words": len({w[2] for words in first.values() if not isinstance(words, str) for w in words})}


# --- the run ---------------------------------------------------------------------------------------------

def measure(cache, files: list[Path], out: Path, entry: str = "app", batch_sizes: tuple[int, ...] = (),
            raw_batch_size: int = 0, save: Callable[[dict], None] = lambda result: None, rounds: int = 1) -> dict:
    """The three paths over ``files`` on ``cache``'s Parakeet (loaded before) and, on the CPU, the batched path
    at each other ``batch_sizes`` value: in ``rounds`` rounds over the whole folder, every way once a round, in
    an order turned by one each round. Why rounds: on a shared machine another program's burst of work would land
    on whichever way ran then; interleaved, it lands on all alike. (Not shares of the folder, one a round: fewer
    files make batches of more different lengths, so more padding than the folder itself would have: 39 % in the
    8-piece calls over thirds of 60 files, 15 % over all 60.)"""
    from transcribe_studio.models import PARAKEET, nemo_asr

    lengths = [audio_seconds(p) for p in files]
    with cache.use(PARAKEET) as model:
        device = str(next(model.parameters()).device)
        precision = getattr(model, "studio_precision", "")
    on_gpu = device.startswith("cuda")
    raw_batch_size = raw_batch_size or (RAW_GPU_BATCH if on_gpu else nemo_asr.CPU_BATCH_ITEMS)
    sizes = [] if on_gpu else [n for n in batch_sizes if n != nemo_asr.CPU_BATCH_ITEMS]
    ways = list(PATHS) + [f"batched_{n}" for n in sizes]
    result = {"entry": entry, "device": device, "precision": precision, "files": len(files),
              "audio_s": round(sum(lengths), 1), "lengths_s": [round(min(lengths), 1), round(max(lengths), 1)],
              "cpu_batch_items": nemo_asr.CPU_BATCH_ITEMS, "rounds": rounds, "paths": {}}
    warm_up(cache, files, raw_batch_size)
    runs, words = {way: [] for way in ways}, {way: {} for way in ways}
    for index in range(rounds):
        for way in ways[index % len(ways):] + ways[:index % len(ways)]:
            row, heard = _run_way(way, cache, files, out / f"round{index}", entry, raw_batch_size)
            runs[way].append(row)
            words[way][index] = heard
            result["paths"] = {way: combined(rows) for way, rows in runs.items() if rows}
            save(result)
    result["paths"] = {way: combined(runs[way]) for way in PATHS}
    result["ratios"] = ratios(result["paths"], runs)
    result["batched_vs_one_at_a_time"] = differences(words["batched"][0], words["one_at_a_time"][0])
    result["batched_vs_raw"] = differences(words["batched"][0], words["raw"][0])
    if rounds > 1:  # the same way twice: is a run repeatable?
        result["batched_round_to_round"] = differences(words["batched"][0], words["batched"][1])
    if not on_gpu and batch_sizes:
        result["sweep"] = [_sweep_row(n, combined(runs.get(f"batched_{n}") or runs["batched"]),
                                      n == nemo_asr.CPU_BATCH_ITEMS) for n in batch_sizes]
    save(result)
    return result


def warm_up(cache, files: list[Path], raw_batch_size: int) -> None:
    """A short file through the app, then the shortest files in one raw batch of the raw path's size, first:
    setting up timestamped decoding, loading kernels, capturing the decoder's CUDA graphs for a large batch and
    allocating buffers are nobody's path's cost."""
    from transcribe_studio.models import PARAKEET
    from transcribe_studio.transcription import engine

    shortest = sorted(files, key=audio_seconds)
    engine.transcribe(cache, PARAKEET, read_wav(shortest[0]))
    with cache.use(PARAKEET) as model:
        raw_with_fallback(model, shortest[:raw_batch_size], raw_batch_size)


def _run_way(way: str, cache, files: list[Path], out: Path, entry: str, raw_batch_size: int) -> tuple[dict, dict]:
    """One way over ``files``, measured: ``batched``, ``one_at_a_time``, ``raw`` or ``batched_<CPU batch size>``."""
    from transcribe_studio.models import PARAKEET, nemo_asr

    audio_s = sum(audio_seconds(p) for p in files)
    say(f"{way}: {len(files)} files, {audio_s:.0f} s of audio ...")
    if way.startswith("batched"):
        default, size = nemo_asr.CPU_BATCH_ITEMS, int(way.partition("_")[2] or nemo_asr.CPU_BATCH_ITEMS)
        nemo_asr.CPU_BATCH_ITEMS = size  # read at each call (the CPU's batch size; a GPU's follows its memory)
        try:
            with recorded_calls(PARAKEET) as (calls, planned):
                row, words = measured(audio_s, lambda: run_batched(cache, files, out / way, entry))
        finally:
            nemo_asr.CPU_BATCH_ITEMS = default
        row.update(calls=calls, planned=planned)
    elif way == "one_at_a_time":
        row, words = measured(audio_s, lambda: run_one_at_a_time(cache, files, out / way, entry))
    else:
        with cache.use(PARAKEET) as model:
            row, (used, words) = measured(audio_s, lambda: raw_with_fallback(model, files, raw_batch_size))
        row["batch_size"] = used
    row.update(audio_s=round(audio_s, 1), files=len(files),
               files_failed=sum(isinstance(w, str) for w in words.values()))
    say(f"{way}: {row['seconds']} s, RTFx {row['rtfx']}, RSS peak +{row['rss_peak_above_start_mb']} MB, "
        f"others' CPU {_other(row)}")
    return row, words


def combined(rows: list[dict]) -> dict:
    """One way's rounds as one: times and audio summed, peaks the highest, every batched call."""
    seconds, audio_s = sum(r["seconds"] for r in rows), sum(r["audio_s"] for r in rows)
    foreign = [r["other_processes"] for r in rows if r["other_processes"]]
    gpu = [r["gpu_peak_mb"] for r in rows if r["gpu_peak_mb"] is not None]
    row = {"seconds": round(seconds, 2), "rtfx": round(audio_s / seconds, 2), "audio_s": round(audio_s, 1),
           "files": sum(r["files"] for r in rows), "files_failed": sum(r["files_failed"] for r in rows),
           "rss_peak_mb": max(r["rss_peak_mb"] for r in rows),
           "rss_peak_above_start_mb": max(r["rss_peak_above_start_mb"] for r in rows),
           "gpu_peak_mb": max(gpu) if gpu else None, "other_processes": _foreign(foreign),
           "rounds": [{k: r[k] for k in ("seconds", "rtfx", "audio_s", "other_processes")} for r in rows]}
    if "calls" in rows[0]:
        row["calls"] = [call for r in rows for call in r["calls"]]
        row["planned"] = [plan for r in rows for plan in r["planned"]]
        row["by_size"] = calls_by_size(row["calls"])
    if "batch_size" in rows[0]:
        row["batch_size"] = min(r["batch_size"] for r in rows)
    return row


def _foreign(readings: list[dict]) -> dict:
    if not readings:
        return {}
    wall, foreign = sum(r["wall_seconds"] for r in readings), sum(r["foreign_cpu_seconds"] for r in readings)
    return {"wall_seconds": round(wall, 1), "foreign_cpu_seconds": round(foreign, 1),
            "foreign_share": round(foreign / (wall * (os.cpu_count() or 1)), 3) if wall else 0.0}


def ratios(paths: dict, runs: dict) -> dict:
    """Throughput ratios against their goals (the 3x goal is a GPU's; on the CPU batched must not be slower):
    from the totals, and the median of the rounds' own ratios (less moved by a burst of others' work)."""
    def per_round(first: str, second: str) -> float | None:
        values = [a["rtfx"] / b["rtfx"] for a, b in zip(runs[first], runs[second])]
        return round(common.median(values), 3) if len(values) > 1 else None
    return {"batched_vs_raw": round(paths["batched"]["rtfx"] / paths["raw"]["rtfx"], 3),
            "batched_vs_raw_median_round": per_round("batched", "raw"), "batched_vs_raw_goal": 0.8,
            "batched_vs_one_at_a_time": round(paths["batched"]["rtfx"] / paths["one_at_a_time"]["rtfx"], 3),
            "batched_vs_one_at_a_time_median_round": per_round("batched", "one_at_a_time"),
            "batched_vs_one_at_a_time_goal": 3.0 if paths["batched"]["gpu_peak_mb"] is not None else 1.0}


def _sweep_row(size: int, row: dict, default: bool) -> dict:
    return {"cpu_batch_items": size, "default": default,
            **{k: row[k] for k in ("seconds", "rtfx", "rss_peak_above_start_mb", "other_processes", "by_size",
                                   "rounds")}}


def say(message: str) -> None:
    print(message, flush=True)


# --- the report -------------------------------------------------------------------------------------------

PATH_LABELS = {"app": {"batched": "app, batched: `batch.run_batch` over the folder",
                       "one_at_a_time": "app, one at a time: `batch.transcribe_file` per file",
                       "raw": "raw NeMo: `model.transcribe(paths longest first, batch_size=N)`"},
               "engine": {"batched": "app engine, batched: `batched.transcribe_files`",
                          "one_at_a_time": "app engine, one at a time: `engine.transcribe` per file",
                          "raw": "raw NeMo: `model.transcribe(paths longest first, batch_size=N)`"}}


def _cell(value) -> str:
    return "-" if value is None else str(value)


def _other(row: dict) -> str:
    share = (row.get("other_processes") or {}).get("foreign_share")
    return "-" if share is None else f"{share:.0%}"


def report(result: dict, heading: str = "###") -> list[str]:
    """The measurement as Markdown lines: the paths, the ratios, the differences, the calls, the sweep."""
    if "ratios" not in result:  # stopped part way: what each way had done
        done = [f"- {way}: {row['files']} files in {row['seconds']} s, RTFx {row['rtfx']}"
                for way, row in result.get("paths", {}).items()]
        return [f"{heading} Many files", "", f"Stopped: {result.get('error', 'not finished')}", ""] + done
    lines = [f"{heading} Many files: {result['files']} files of {result['lengths_s'][0]:g}-{result['lengths_s'][1]:g}"
             f" s, {result['audio_s']:g} s of audio ({result['device']}, {result['precision']})", ""]
    if result.get("rounds", 1) > 1:
        lines += [f"In {result['rounds']} rounds over the whole folder, every way once a round in an order turned "
                  "each round; the figures are the rounds summed.", ""]
    lines += _paths_table(result) + [""] + _noise_lines(result) + _ratio_lines(result) + [""]
    lines += _difference_lines(result)
    lines += ["", "Batched calls by size (the app's batched path):", ""] + _calls_table(result["paths"]["batched"])
    if result.get("sweep"):
        lines += ["", "CPU batch size (`nemo_asr.CPU_BATCH_ITEMS`), the batched path again:", ""]
        lines += _sweep_table(result["sweep"])
    return lines


def _paths_table(result: dict) -> list[str]:
    lines = ["| path | wall s | RTFx (audio s per s) | RSS peak above start, MB | GPU peak, MB | others' CPU |",
             "|---|---|---|---|---|---|"]
    for path in PATHS:
        row = result["paths"][path]
        label = PATH_LABELS[result["entry"]][path] + (f" (N = {row['batch_size']})" if path == "raw" else "")
        lines.append(f"| {label} | {row['seconds']} | {row['rtfx']} | {row['rss_peak_above_start_mb']} | "
                     f"{_cell(row['gpu_peak_mb'])} | {_other(row)} |")
    return lines


NOISY_SHARE = 0.05  # others' share of the CPU above which timings are called noisy (as benchmarks/run.py)


def _noise_lines(result: dict) -> list[str]:
    shares = [(way, row["other_processes"].get("foreign_share") or 0.0) for way, row in result["paths"].items()
              if row.get("other_processes")]
    noisy = [f"{way} {share:.0%}" for way, share in shares if share > NOISY_SHARE]
    return [f"**Noisy: other processes took part of the CPU meanwhile ({', '.join(noisy)} of all cores).**",
            ""] if noisy else []


def _ratio_lines(result: dict) -> list[str]:
    r = result["ratios"]

    def verdict(value, goal):
        return "met" if value >= goal else f"missed ({value / goal:.0%} of the goal)"

    def line(name: str, label: str) -> str:
        value, goal, median = r[name], r[f"{name}_goal"], r.get(f"{name}_median_round")
        rounds = f"; median of the rounds' own ratios {median:.2f}x" if median is not None else ""
        return f"- {label}: **{value:.2f}x** (goal >= {goal}x: {verdict(value, goal)}{rounds})"
    return [line("batched_vs_raw", "batched / raw throughput"),
            line("batched_vs_one_at_a_time", "batched / one at a time")]


def _difference_lines(result: dict) -> list[str]:
    lines = []
    for key, other in (("batched_vs_one_at_a_time", "one at a time"), ("batched_vs_raw", "raw NeMo"),
                       ("batched_round_to_round", "itself in the next round")):
        d = result.get(key)
        if d is None:
            continue
        at = d.get("largest_at")
        lines.append(f"- batched vs {other}: words differ in **{d['files_words_differ']} of {d['files']}** files "
                     f"({d['words']} words, {d.get('distinct_words', '-')} distinct; {d['files_failed']} failed on "
                     "either side); where the words agree, "
                     f"{d.get('files_times_differ', '-')} files have a word more than 1 ms apart, the largest "
                     f"difference **{d['max_word_time_diff_s'] * 1000:.0f} ms**" + (f" ({at['file']})" if at else "")
                     + (f" (differ: {', '.join(d['differ'])})" if d["differ"] else ""))
    return lines


def _calls_table(row: dict) -> list[str]:
    lines = ["| pieces | calls | longest piece s | audio s | padding | model s | GPU above start, MB (max) "
             "| planner's estimate, MB (max) |", "|---|---|---|---|---|---|---|---|"]
    for s in row["by_size"]:
        lines.append(f"| {s['items']} | {s['calls']} | {s['longest_s'][0]:g}-{s['longest_s'][1]:g} | {s['audio_s']} | "
                     f"{s['padding_share']:.0%} | {s['seconds']} | {_cell(s['gpu_above_start_mb_max'])} | "
                     f"{s['estimate_mb_max']} |")
    return lines


def _sweep_table(rows: list[dict]) -> list[str]:
    lines = ["| CPU batch items | wall s | RTFx | RSS peak above start, MB | calls (pieces x calls) | others' CPU |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        shape = ", ".join(f"{s['items']}x{s['calls']}" for s in row["by_size"])
        lines.append(f"| {row['cpu_batch_items']}{' (default)' if row['default'] else ''} | {row['seconds']} | "
                     f"{row['rtfx']} | {row['rss_peak_above_start_mb']} | {shape} | {_other(row)} |")
    return lines


def machine() -> dict:
    import platform

    import torch

    from benchmarks.run import _cpu_model, _ram_gib

    info = {"cpu": _cpu_model(), "cores": os.cpu_count(), "ram_gib": _ram_gib(), "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(), "python": platform.python_version()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    try:
        import nemo

        info["nemo"] = nemo.__version__
    except ImportError:
        pass
    return info


# --- the command --------------------------------------------------------------------------------------------

def _settings(nemo: Path, device: str, out: Path):
    from transcribe_studio.settings import Settings

    return Settings(parakeet_path=nemo, device=device, output_dir=out / "outputs", hf_cache_dir=out / "hub")


def run(args) -> dict:
    from transcribe_studio.models import PARAKEET, ModelCache

    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    files = write_folder(args.out / "folder", args.files, seed=args.seed)
    made_s = time.perf_counter() - started
    cache = ModelCache(_settings(args.nemo, args.device, args.out))
    load_started = time.perf_counter()
    cache.load(PARAKEET)
    head = {"command": " ".join([Path(sys.executable).name, "-m", "benchmarks.folder"] + sys.argv[1:]),
            "machine": machine(), "nemo": str(args.nemo), "nemo_bytes": args.nemo.stat().st_size,
            "folder_seconds": round(made_s, 1), "load_seconds": round(time.perf_counter() - load_started, 1),
            "started": time.strftime("%Y-%m-%d %H:%M:%S")}

    def save(result: dict) -> None:
        common.write_json(args.out / "folder.json", {**head, **result})
    result = measure(cache, files, args.out / "outputs", args.entry, tuple(args.batch_sizes), args.raw_batch_size,
                     save, args.rounds)
    result = {**head, **result, "total_seconds": round(time.perf_counter() - started, 1)}
    common.write_json(args.out / "folder.json", result)
    (args.out / "folder.md").write_text(markdown(result), encoding="utf-8")
    return result


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [f"# Many files through Parakeet (`{result['command']}`)", "",
             f"{m.get('gpu') or m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM; torch {m['torch']} "
             f"({m['torch_threads']} threads), NeMo {m.get('nemo', '-')}, Python {m['python']}. Model: "
             f"{result['nemo']} ({result['nemo_bytes']:,} bytes), loaded in {result['load_seconds']} s; folder written "
             f"in {result['folder_seconds']} s; whole run {result.get('total_seconds', '-')} s, started "
             f"{result['started']}.", ""]
    return "\n".join(lines + report(result, "##")) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nemo", type=Path, default=common.BENCH_DIR / ".models" / "parakeet.nemo")
    parser.add_argument("--files", type=int, default=60)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--batch-sizes", type=lambda text: [int(v) for v in text.split(",") if v], default=[4, 8, 16],
                        help="CPU batch sizes to sweep (nemo_asr.CPU_BATCH_ITEMS); ignored on a GPU")
    parser.add_argument("--raw-batch-size", type=int, default=0,
                        help="raw NeMo's batch size (default: the app's CPU batch size, 128 on a GPU)")
    parser.add_argument("--entry", choices=("app", "engine"), default="app",
                        help="app: run_batch / transcribe_file (PyAV decoding, outputs saved); engine: "
                             "batched.transcribe_files / engine.transcribe on soundfile-read audio")
    parser.add_argument("--rounds", type=int, default=1,
                        help="interleave the ways in this many rounds over shares of the files (a shared machine)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not args.nemo.is_file():
        from benchmarks import full_models

        full_models.build_full_parakeet(args.nemo, device=args.device)
    result = run(args)
    print((args.out / "folder.md").read_text())
    return 0 if all(row["files_failed"] == 0 for row in result["paths"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
