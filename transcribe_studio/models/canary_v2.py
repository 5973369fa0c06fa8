"""Canary-1B-v2: 25 European languages, told which one it hears, and translation between English and the 24 others.

An AED multitask model (``EncDecMultiTaskModel``: a FastConformer encoder and a transformer decoder) whose prompt
carries the recording's language and the language to write (:class:`.spec.LanguagePrompt`): the same language
transcribes, another translates (English into any of the 24, any of them into English). Optional:
``setup_local_models.py --with-canary-1b-v2`` downloads it at a pinned commit into ``local_models/canary-1b-v2.nemo``
(``CANARY_1B_V2_NEMO``), its size and SHA-256 taken from the Hub's metadata and recorded (:mod:`.pinned`); restored
offline with ``ASRModel.restore_from``.

It was trained on audio of at most 40 s, so it gets windows of at most 40 s cut at pauses, several per
``transcribe`` call (``--batch-size``), as Canary-Qwen does.

**Times.** Its decoder writes text only; the ``.nemo`` holds a second model beside it, a CTC recogniser
(``timestamps_asr_model_*``, about 600 M parameters) that NeMo 3.0 force-aligns to Canary's text for word and
segment times. NeMo keeps it outside the model's modules (``.to()`` and the memory plan would not see it), so it is
restored here with the same streamed load, onto the same device in the same precision, and counted in
:data:`GPU_BYTES`. A translation is aligned to speech in another language: only its segments' times are kept,
and they are approximate (the aligner spreads the translated sentences over the speech); its words get none.
"""

from __future__ import annotations

import contextlib

import numpy as np

from ..errors import LanguageChoiceError
from ..media.decode import SAMPLE_RATE
from ..settings import Settings
from . import gpu
from .nemo_asr import NEMO_PAD_MIN_SAMPLES, check_nemo_file, nemo_asr_spec, restore_error, words_and_segments
from .parakeet_v3 import LANGUAGE_CODES, LANGUAGES
from .pinned import PinnedFile
from .spec import Heard, LanguagePrompt, register, windows_in_batches

LABEL = "Canary-1B-v2"
REPO = "nvidia/canary-1b-v2"
REVISION = "87bc52657add533cd0156b3fc1aef027280754bf"
FILENAME = "canary-1b-v2.nemo"
FILE = PinnedFile("canary_1b_v2", "Canary-1B-v2", REPO, REVISION, FILENAME, "canary-1b-v2.nemo", "CANARY_1B_V2")
# Its training limit (model card): longer inputs are for NeMo's own chunking, which the windows replace.
MAX_WINDOW_SECONDS = 40.0
# The members of its .nemo that hold the helper model for times (NeMo's names).
TIMER_PREFIX = "timestamps_asr_"
# 978 M parameters in bf16 (2.0 GB) and the 600 M of the timer model (1.2 GB), plus working room for a batch of
# 40 s windows; on the CPU in fp32, twice the weights.
GPU_BYTES = 5_000_000_000


def writes(heard: str) -> tuple[str, ...]:
    """The languages it writes a recording in ``heard`` in: the same, or through translation English into any of
    the 24 others and any of them into English."""
    if heard == "en":
        return ("en",) + tuple(code for code in LANGUAGE_CODES if code != "en")
    return (heard, "en")


@contextlib.contextmanager
def speaking(model, heard: str, written: str):
    """Inside, the model's prompt says the recording is in ``heard`` and the text is to be in ``written``."""
    model.studio_languages = (heard, written)
    try:
        yield model
    finally:
        del model.studio_languages


def load(settings: Settings, device):
    """The model and its timer model, each streamed from the file onto ``device`` in bf16 where the card has it."""
    path = FILE.path(settings)
    check_nemo_file(path, LABEL)
    import torch

    from .fast_load import is_plain_tar, restore_streamed

    precision, why = gpu.choose_precision(device)
    dtype = torch.bfloat16 if precision == "bf16" else None
    try:
        # Every checkpoint is read in place, so NeMo's own restore finds no timer weights to load and leaves it
        # to us (a compressed file is NeMo's to restore whole, timer included).
        model = restore_streamed(path, device, dtype)
        timer = model.timestamps_asr_model
        if timer is None and is_plain_tar(path) and _holds_timer(path):
            timer = restore_streamed(path, device, dtype, prefix=TIMER_PREFIX)
    except Exception as exc:  # noqa: BLE001 - classified: a damaged member, or a real cause (memory, disk)
        raise restore_error(exc, path, LABEL) from exc
    if timer is not None:
        timer = timer.to(device) if dtype is None else timer.to(device, dtype)
        object.__setattr__(model, "timestamps_asr_model", timer.eval())  # as NeMo does: not a submodule
    model.eval()
    model.studio_precision = f"{precision} ({why})"
    return model


def _holds_timer(path) -> bool:
    import tarfile
    from pathlib import Path

    with tarfile.open(path, "r:") as archive:
        return any(Path(name).name == f"{TIMER_PREFIX}model_config.yaml" for name in archive.getnames())


def transcribe_batch(model, pieces: list[np.ndarray], settings: Settings) -> list[Heard]:
    """What it heard in each piece (on its own clock), from one ``transcribe`` call."""
    return _heard(model, pieces)


# Windows of at most 40 s, --batch-size at a time, each yielded as heard on the recording's clock.
transcribe = windows_in_batches(transcribe_batch)


def _heard(model, pieces: list[np.ndarray]) -> list[Heard]:
    """Each piece's text and times (on its own clock) from one ``transcribe`` call, with the languages of the
    :func:`speaking` around it."""
    import torch
    from nemo.collections.asr.models.aed_multitask_models import MultiTaskTranscriptionConfig

    heard, written = _languages(model)
    timed = model.timestamps_asr_model is not None
    # Padded at the end by us, so NeMo does not pad both sides (which would shift every time late).
    padded = [np.concatenate([p, np.zeros(NEMO_PAD_MIN_SAMPLES - len(p), np.float32)])
              if len(p) < NEMO_PAD_MIN_SAMPLES else p for p in pieces]
    # num_workers=0: Windows spawns DataLoader workers. No chunking: the windows are already within its limit.
    config = MultiTaskTranscriptionConfig(
        batch_size=len(padded), return_hypotheses=True, num_workers=0, verbose=False, enable_chunking=False,
        prompt={"source_lang": heard, "target_lang": written, "pnc": "yes", "timestamp": "no"})
    with torch.inference_mode():
        hypotheses = model.transcribe(padded, override_config=config, timestamps=timed)
    return [_heard_in(hypothesis, len(piece) / SAMPLE_RATE, translated=heard != written)
            for hypothesis, piece in zip(hypotheses, pieces)]


def _languages(model) -> tuple[str, str]:
    languages = getattr(model, "studio_languages", None)
    if languages is None:
        raise LanguageChoiceError(f"{LABEL} must be told the recording's language.",
                                  next_steps="Choose the language spoken (--language, e.g. --language de).")
    return languages


def _heard_in(hypothesis, duration: float, translated: bool) -> Heard:
    from .spec import Timed

    words, segments = words_and_segments(hypothesis, duration)
    text = hypothesis.text.strip()
    if text and not segments:
        segments = [Timed(0.0, duration, text)]
    return Heard(0.0, duration, text, words=() if translated else tuple(words), segments=tuple(segments))


def _description(settings: Settings) -> str:
    return f"""**{LABEL}** (25 European languages: {LANGUAGES}; translation from English into each of the
others and from each of them into English; punctuation, word and segment times) is told which language it hears:
choose it on the page (or `--language`), and a language to translate into if you want one (`--translate-to`).
It loads from `{FILE.path(settings)}` with `ASRModel.restore_from`, fully offline. Recordings go in windows of at
most {MAX_WINDOW_SECONDS:g} s cut at pauses. Times come from a second, CTC model inside the same file, aligned to
Canary's text: word times for a transcription; for a translation only segment times, and approximate ones (the
translated sentences are spread over speech in another language). It needs about 5 GB of GPU memory (9 GB of RAM
on the CPU). Not part of the default setup: `python setup_local_models.py --with-canary-1b-v2` downloads it (about
6.4 GB). Licence: CC-BY-4.0."""


SPEC = register(nemo_asr_spec(
    "canary-1b-v2", LABEL, "25 European languages (told which), translation to and from English, word timestamps",
    FILE.path, setup=FILE.setup, check=FILE.check, setup_by_default=False, description=_description,
    load=load, transcribe=transcribe, transcribe_batch=transcribe_batch,
    window_seconds=lambda settings, model: MAX_WINDOW_SECONDS,
    batch_items=lambda settings, model, longest_seconds: settings.batch_size,
    vocabulary=None, languages=LANGUAGE_CODES, prompt=LanguagePrompt(writes=writes, speaking=speaking),
    gpu_bytes=GPU_BYTES, options=FILE.options(),
    speed={"cuda": 200.0, "cpu": 2.2},  # audio seconds a second: docs/PERFORMANCE.md (the GPU figure planned, owed)
    memory="about 9 GB of RAM on the CPU (8.5 GB measured); on a GPU about 5 GB (its timer model included)",
    advice={"gpu_oom": "Unload the other model or close other programs using the GPU; lower --batch-size (e.g. 1), "
                       "or run on the CPU with --device cpu.",
            "ram_oom": f"Close other programs and try again: on the CPU, {LABEL} needs about 9 GB of free RAM (onto a "
                       "GPU, under 1 GB on the way).",
            "model_file": "Run `python setup_local_models.py --with-canary-1b-v2` to download it, or point "
                          "--canary-1b-v2-nemo (CANARY_1B_V2_NEMO) at the file."},
    notes=["Optional: `python setup_local_models.py --with-canary-1b-v2`. Loaded with `ASRModel.restore_from` from "
           "a local `.nemo` file: never uses the network."]))
