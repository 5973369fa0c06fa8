"""Any NeMo ``.nemo`` speech recogniser, loaded offline with ``ASRModel.restore_from``.

Parakeet-TDT-0.6B-v2 is one of these (see :mod:`.parakeet`); another ``.nemo``
ASR model is one :func:`nemo_asr_spec` call. The file is checked before NeMo
sees it, so a missing or cut-short download gets a message naming the file and
the fix instead of a tar or pickle traceback.

Long audio goes in passes (see :mod:`..media.windows` for why): each pass is
one ``transcribe`` call on in-memory audio, and its word and segment times are
shifted back onto the recording's time axis.
"""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import ModelFileError
from ..media.decode import SAMPLE_RATE
from ..progress import Progress
from ..settings import SETUP_COMMAND, Settings
from ..transcript import Segment, Transcript, Word
from .spec import ModelSpec

NEMO_REQUIRED_MEMBERS = ("model_config.yaml", "model_weights.ckpt")

# Pass length by device, in seconds, when the settings leave it at 0. GPU: under the card's
# 24 minutes with margin for 8-12 GB cards. CPU: "a few minutes" keeps attention matrices under ~1 GB.
PASS_SECONDS = {"cuda": 20 * 60.0, "cpu": 5 * 60.0}


def check_nemo_file(path: Path, label: str = "model") -> None:
    """Fail fast, naming the file, if it is missing, empty, not a tar archive or lacks a NeMo member."""
    fix = f"Run `{SETUP_COMMAND}` to download and verify it, or point the setting for this file at a valid one."
    what = f"The {label} file {path}"
    if not path.is_file():
        raise ModelFileError(f"{what} does not exist.", next_steps=fix)
    if path.stat().st_size == 0:
        raise ModelFileError(f"{what} is empty (0 bytes).", next_steps=fix)
    try:
        # tarfile reads every header to the end, so an archive cut short raises here.
        with tarfile.open(path, "r:*") as archive:
            names = {Path(m.name).name for m in archive.getmembers()}
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ModelFileError(f"{what} is not a readable .nemo archive ({exc}).", next_steps=fix) from exc
    absent = [m for m in NEMO_REQUIRED_MEMBERS if m not in names]
    if absent:
        raise ModelFileError(f"{what} lacks {', '.join(absent)}: it is not a NeMo model or it is incomplete.",
                             next_steps=fix)


def load(path: Path, label: str, device):
    """``ASRModel.restore_from`` on a local file (through :mod:`.fast_load`), in bf16 where the GPU has it."""
    check_nemo_file(path, label)
    import torch

    from .fast_load import restore

    model = restore(path, map_location=device)
    model.eval()
    # As NVIDIA's transcribe_speech.py: bf16 where the GPU supports it. The mel
    # front end stays in fp32 and only casts its output, so this is safe.
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        model = model.to(torch.bfloat16)
    return model


def pass_seconds(settings: Settings, device_type: str) -> float:
    """The configured pass length, or the device's default when it is 0."""
    return settings.parakeet_pass_seconds or PASS_SECONDS.get(device_type, PASS_SECONDS["cpu"])


def transcribe(model, audio: np.ndarray, spans: list[tuple[int, int]], settings: Settings,
               progress: Progress) -> Transcript:
    """One ``transcribe`` call per pass; words and segments shifted onto the recording's clock."""
    words: list[Word] = []
    segments: list[Segment] = []
    for done, (start, end) in enumerate(spans, 1):
        pass_words, pass_segments = _one_pass(model, audio[start:end])
        words += _shift(pass_words, start / SAMPLE_RATE)
        segments += _shift(pass_segments, start / SAMPLE_RATE)
        progress(done / len(spans), f"part {done} of {len(spans)}")
    return Transcript(text=" ".join(s.text for s in segments), segments=segments, words=words,
                      duration=len(audio) / SAMPLE_RATE)


def _one_pass(model, samples: np.ndarray) -> tuple[list[Word], list[Segment]]:
    import torch

    with torch.inference_mode():
        # num_workers=0: Windows spawns DataLoader workers, which breaks in apps.
        # timestamps=True is sticky on the model (rnnt_models.py), which suits us.
        hypothesis = model.transcribe([samples], batch_size=1, timestamps=True, num_workers=0, verbose=False)[0]
    duration = len(samples) / SAMPLE_RATE
    words, segments = _words_and_segments(hypothesis, duration)
    text = hypothesis.text.strip()
    if text and not segments:
        segments = [Segment(0.0, duration, text)]
    return words, segments


def _words_and_segments(hypothesis, duration: float) -> tuple[list[Word], list[Segment]]:
    stamps = hypothesis.timestamp if isinstance(hypothesis.timestamp, dict) else {}

    # NeMo pads clips to whole frames (and to 1 s), so the last stamp can end past the audio.
    def clamp(t) -> float:
        return min(max(float(t), 0.0), duration)

    words = [Word(clamp(w["start"]), clamp(w["end"]), w["word"]) for w in stamps.get("word", [])]
    segments = [Segment(clamp(s["start"]), clamp(s["end"]), s["segment"]) for s in stamps.get("segment", [])]
    return words, segments


def _shift(items, offset: float):
    return [type(item)(item.start + offset, item.end + offset, item.text) for item in items]


def nemo_asr_spec(key: str, label: str, summary: str, path: Callable[[Settings], Path], *,
                  gpu_bytes: int = 3_000_000_000, **extra) -> ModelSpec:
    """The spec of a ``.nemo`` ASR model whose file ``path(settings)`` names."""
    def on_disk(settings: Settings) -> str:
        from ..formatting import size_text

        file = path(settings)
        return f"present, {size_text(file.stat().st_size)}" if file.is_file() else "missing"

    return ModelSpec(
        key=key, label=label, summary=summary,
        load=lambda settings, device: load(path(settings), label, device),
        transcribe=transcribe, window_seconds=pass_seconds,
        source=lambda settings: f"file {path(settings)}",
        on_disk=on_disk,
        provenance=lambda settings: {"file": str(path(settings))},
        gpu_bytes=gpu_bytes, **extra)
