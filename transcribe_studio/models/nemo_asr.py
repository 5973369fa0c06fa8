"""Any NeMo ``.nemo`` speech recogniser, loaded offline with ``ASRModel.restore_from``.

Parakeet-TDT-0.6B-v2 is one of these (see :mod:`.parakeet`); another ``.nemo``
ASR model is one :func:`nemo_asr_spec` call. The file is checked before NeMo
sees it, so a missing or cut-short download gets a message naming the file and
the fix instead of a tar or pickle traceback.

**Why passes.** Parakeet-TDT was trained with full attention, whose memory
grows with the square of the length: the model card quotes up to 24 minutes in
one pass on a large GPU, users with 8 GB cards run out well before, and on a
CPU a pass of 20 minutes needs several GB per attention matrix. NVIDIA's
alternative, local attention, is linear but "will degrade" accuracy (model
card, NeMo blog) and still spikes memory on hour-long files. So full attention
stays, and long audio goes in passes of bounded length, cut inside pauses
(:mod:`..media.windows`), with times shifted back onto the recording's clock:
memory stays bounded whatever the length of the file.

Each pass is one ``transcribe`` call on in-memory audio, yielded as it is
heard (:class:`.spec.Heard`) with its word and segment times shifted onto the
recording's clock; the transcription above merges the passes where they overlap
(a hard cut). Passes under 1 s are padded at their end, so NeMo does not pad
both sides and shift their times. On a GPU the pass length follows
the card's free memory (:mod:`.gpu`), and two failures are survived:

* **Out of memory** in a pass: memory is freed and that pass is cut in half
  (again at pauses) and retried, down to ``gpu.MIN_PASS_SECONDS``; the
  transcript's notes say so once.
* **An error inside the decoder** that leaves the GPU usable: NeMo's CUDA-graph
  TDT decoder (on by default) fails at run time on some driver/CUDA
  combinations (NVIDIA/NeMo#14107, #15145), and NeMo falls back by itself only
  when the graph fails to compile. So we switch it off for this model
  (``change_decoding_strategy``), retry the pass once, and leave it off. A
  sticky CUDA error (an illegal memory access) poisons the process's GPU
  context: that is a classified error that says to restart, never a retry.
"""

from __future__ import annotations

import logging
import tarfile
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ..classify import STICKY_CUDA_ERRORS, classify
from ..errors import GPUFailedError, GPUOutOfMemoryError, ModelFileError, StudioError
from ..media.decode import SAMPLE_RATE
from ..progress import Progress
from ..settings import SETUP_COMMAND, Settings
from . import gpu
from .spec import Heard, ModelSpec, Timed
from .vocabulary import boosted

log = logging.getLogger(__name__)

NEMO_REQUIRED_MEMBERS = ("model_config.yaml", "model_weights.ckpt")

# The longest pass on the CPU when the settings leave it at 0: "a few minutes" keeps the
# attention matrices under ~1 GB in fp32. (On a GPU the card's memory decides, see gpu.py.)
CPU_PASS_SECONDS = 5 * 60.0
# NeMo pads in-memory clips shorter than this with silence on both sides (``pad_min_duration``
# of 1 s, ``pad_direction='both'`` in asr/parts/mixins/transcription.py): times would come out late.
NEMO_PAD_MIN_SAMPLES = SAMPLE_RATE
# Pieces per call on the CPU in the batched path: one. There a batch pads every piece to its longest and shares
# two cores it already kept busy: 20 files of 2-60 s on the full-size model ran at 14x real time one piece a call,
# 12x four and 10x eight a call (the folder benchmark, docs/PERFORMANCE.md). On a GPU the card's memory decides.
CPU_BATCH_ITEMS = 1
# NeMo's word confidence for a transducer: entropy-based (Tsallis, alpha 0.33, exponential normalisation: the
# measure NeMo's confidence work recommends for RNNT/TDT), blanks left out, a word's tokens aggregated by their
# minimum (a word is as doubtful as its most doubtful piece). Values in [0, 1]; a spec with ``word_confidence``.
WORD_CONFIDENCE = {"preserve_word_confidence": True, "exclude_blank": True, "aggregation": "min",
                   "method_cfg": {"name": "entropy", "entropy_type": "tsallis", "alpha": 0.33, "entropy_norm": "exp"}}


def _setup_advice() -> str:
    return f"Run `{SETUP_COMMAND}` to download and verify it, or point the setting for this file at a valid one."


def missing_file_reason(path: Path, setup: str = SETUP_COMMAND) -> str | None:
    """Why a local ``.nemo`` file cannot load now, judged by a look at the file only (no archive read); ``setup``:
    the command that fetches it."""
    if not path.is_file():
        return f"file missing ({path}); run `{setup}`"
    if path.stat().st_size == 0:
        return f"file empty ({path}); run `{setup}`"
    return None


def check_nemo_file(path: Path, label: str = "model") -> None:
    """Fail fast, naming the file, if it is missing, empty, not a tar archive or lacks a NeMo member."""
    fix = _setup_advice()
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


def load(path: Path, label: str, device, cuda_graphs: bool = True, word_confidence: bool = False):
    """``ASRModel.restore_from`` on a local file (through :mod:`.fast_load`), in bf16 where the card has it.

    ``cuda_graphs=False`` decodes without NeMo's CUDA-graph decoder from the start (see :func:`load_for`);
    ``word_confidence``: its words carry NeMo's confidence (:data:`WORD_CONFIDENCE`).
    """
    check_nemo_file(path, label)
    import torch

    from .fast_load import restore_streamed

    # As NVIDIA's transcribe_speech.py: bf16 where the GPU supports it. The mel
    # front end stays in fp32 and only casts its output, so this is safe.
    precision, why = gpu.choose_precision(device)
    dtype = torch.bfloat16 if precision == "bf16" else None
    # Each weight goes from the file to the device alone, already in its final dtype: never the fp32 model
    # and its fp32 checkpoint on the card at once (5.0 GB on an H100 for Parakeet when restored onto it).
    try:
        model = restore_streamed(path, device, dtype)
    except Exception as exc:  # noqa: BLE001 - classified: a damaged member, or a real cause (memory, disk)
        raise restore_error(exc, path, label) from exc
    model.eval()
    model.studio_precision = f"{precision} ({why})"
    if device.type == "cuda" and not cuda_graphs:
        _switch_decoder_graphs_off(model)
    if word_confidence:
        _keep_word_confidence(model)
    return model


def _keep_word_confidence(model) -> None:
    from omegaconf import OmegaConf, open_dict

    with open_dict(model.cfg.decoding):
        model.cfg.decoding.confidence_cfg = OmegaConf.create(WORD_CONFIDENCE)
    model.change_decoding_strategy(model.cfg.decoding, verbose=False)


# What a damaged member raises inside NeMo's restore: YAML and OmegaConf parse errors or a config
# that builds no model (TypeError, KeyError, ...) for model_config.yaml; torch's unpickler and zip
# reader, or a state_dict that does not fit, for model_weights.ckpt.
_WEIGHTS_SIGNS = ("UnpicklingError", "PytorchStreamReader", "state_dict", "weights_only", "central directory")


def restore_error(exc: Exception, path: Path, label: str) -> StudioError:
    """A named cause (out of memory, a full disk, a missing package) as classified; anything else raised
    while NeMo reads a checked archive means a damaged member: "model file damaged" with the setup
    command, never torch's or NeMo's own advice (that goes to the log with the traceback)."""
    found = classify(exc, f"loading {label}")
    if found.kind not in ("unexpected", "model_file", "bad_audio"):
        return found
    chain = f"{exc!r} {exc.__cause__!r} {exc.__context__!r}"
    weights = any(sign in chain for sign in _WEIGHTS_SIGNS) or _config_reads(path)
    member = "model_weights.ckpt (its weights)" if weights else "model_config.yaml (its settings)"
    return ModelFileError(f"The {label} file {path} is damaged: NeMo could not read {member}.",
                          next_steps=_setup_advice())


def _config_reads(path: Path) -> bool:
    """Whether the archive's model_config.yaml reads as a model's settings: then what NeMo could not read
    was the weights, whatever the error looked like."""
    import yaml

    try:
        with tarfile.open(path, "r:*") as archive:
            member = next(m for m in archive.getmembers() if Path(m.name).name == "model_config.yaml")
            config = yaml.safe_load(archive.extractfile(member))
    except Exception:  # noqa: BLE001 - unreadable for any reason: the settings are what is damaged
        return False
    return isinstance(config, dict) and any(key in config for key in ("target", "encoder", "preprocessor"))


def load_for(settings: Settings, path: Path, label: str, device, word_confidence: bool = False):
    """:func:`load` as the app does it: with ``--gpu-memory-gb`` set, no CUDA-graph decoder.

    Why: on an H100 under an 8 GB cap (``set_per_process_memory_fraction``), the CUDA-graph TDT
    decoder hit "an illegal memory access" twice in the GPU check (docs/PERFORMANCE.md), which
    poisons the process's GPU context; without a cap every run was clean. A capped card is a
    tight card, so there we trade the graphs' speed for safety.
    """
    return load(path, label, device, cuda_graphs=not settings.gpu_memory_gb, word_confidence=word_confidence)


def pass_seconds(settings: Settings, model) -> float:
    """How long a pass may be: on a GPU, what its free memory holds (within the settings' maximum)."""
    device = next(model.parameters()).device
    if device.type != "cuda":
        return settings.parakeet_pass_seconds or CPU_PASS_SECONDS
    maximum = settings.parakeet_pass_seconds or gpu.MAX_GPU_PASS_SECONDS
    return gpu.pass_seconds_for(gpu.budget_bytes(settings, device), gpu.precision_of(model), maximum)


def transcribe(model, audio: np.ndarray, spans: list[tuple[int, int]], settings: Settings,
               progress: Progress) -> Iterator[Heard]:
    """One ``transcribe`` call per pass, each yielded as heard, its times on the recording's clock."""
    todo = list(spans)
    total = sum(end - start for start, end in spans) or 1
    done = count = 0
    note, said = "", False
    while todo:
        start, end = todo.pop(0)
        try:
            words, segments = _one_pass_with_fallback(model, audio[start:end])
        except Exception as exc:  # noqa: BLE001 - only out-of-memory is handled; the rest is re-raised
            if not _is_out_of_memory(exc):
                raise
            todo[:0] = _halved(audio, start, end)
            if not said:  # said once, however often it happens
                note, said = _out_of_memory_note(end - start), True
            if _decoder_graphs_on(model):  # an out-of-memory inside graph replay can leave it broken
                _switch_decoder_graphs_off(model)
            continue
        offset = start / SAMPLE_RATE
        yield Heard(offset, end / SAMPLE_RATE, " ".join(s.text for s in segments),
                    words=tuple(_shifted(words, offset)), segments=tuple(_shifted(segments, offset)), note=note)
        note, count, done = "", count + 1, done + end - start
        progress(min(done / total, 1.0), f"part {count} of {count + len(todo)}")


def _shifted(items: list[Timed], offset: float) -> list[Timed]:
    return [Timed(item.start + offset, item.end + offset, item.text, item.confidence) for item in items]


def _out_of_memory_note(samples: int) -> str:
    note = (f"The GPU ran out of memory on a pass of {samples / SAMPLE_RATE:.0f} s; the app retried in shorter "
            "passes. To avoid the retry, set --parakeet-pass-seconds lower, or --gpu-memory-gb to what the app "
            "may really use.")
    log.warning(note)
    return note


def _is_out_of_memory(exc: BaseException) -> bool:
    return type(exc).__name__ == "OutOfMemoryError" or "CUDA out of memory" in str(exc)


def _halved(audio: np.ndarray, start: int, end: int) -> list[tuple[int, int]]:
    """The pass [start, end) as passes of half its length (cut at pauses), after freeing memory; or raise."""
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    half = (end - start) / SAMPLE_RATE / 2
    if half < gpu.MIN_PASS_SECONDS:
        raise GPUOutOfMemoryError(f"The GPU ran out of memory even on a pass of {2 * half:.0f} s of audio.",
                                  next_steps=GPUOutOfMemoryError.default_next_steps + " Shorter passes: "
                                  "--parakeet-pass-seconds (e.g. 120).")
    from ..media import voice, windows

    # Cut at pauses, or hard with an overlap; nothing of a pass is skipped (it was planned to be heard).
    piece = audio[start:end]
    halves = windows.plan_windows(len(piece), voice.speech_spans(piece), max_seconds=half, keep=[(0, len(piece))])
    return [(start + a, start + b) for a, b in halves]


def _one_pass_with_fallback(model, samples: np.ndarray) -> tuple[list[Timed], list[Timed]]:
    """One pass alone (the one-file path)."""
    return _passes_with_fallback(model, [samples])[0]


def _passes_with_fallback(model, pieces: list[np.ndarray]) -> list[tuple[list[Timed], list[Timed]]]:
    """One ``transcribe`` call over ``pieces``; an error inside the decoder switches its CUDA graphs off and
    retries once."""
    try:
        return _passes(model, pieces)
    except Exception as exc:  # noqa: BLE001 - classified below; anything else is re-raised
        if _is_out_of_memory(exc):
            raise
        if _is_sticky(exc, model):
            raise GPUFailedError(f"The GPU failed while Parakeet was transcribing: {exc}") from exc
        if not _raised_in_decoder(exc) or not _decoder_graphs_on(model):
            raise
        log.warning("Parakeet's decoder failed (%s); switching its CUDA graphs off and retrying the pass.", exc)
        _switch_decoder_graphs_off(model)
    return _passes(model, pieces)


def _is_sticky(exc: BaseException, model) -> bool:
    device = next(model.parameters()).device
    if any(sign in str(exc) for sign in STICKY_CUDA_ERRORS):
        return True
    return device.type == "cuda" and not gpu.cuda_context_works(device)


def _raised_in_decoder(exc: BaseException) -> bool:
    """True when the error came from inside NeMo's RNNT/TDT decoding code."""
    tb = exc.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename.replace("\\", "/")
        if "/asr/parts/submodules/" in name and ("rnnt" in name or "tdt" in name or "decoding" in name):
            return True
        tb = tb.tb_next
    return False


def _decoder_graphs_on(model) -> bool:
    return bool(model.cfg.decoding.get("greedy", {}).get("use_cuda_graph_decoder", True))


def _switch_decoder_graphs_off(model) -> None:
    """Greedy TDT decoding without CUDA graphs, for the rest of this process (the config is the model's own)."""
    from omegaconf import open_dict

    with open_dict(model.cfg.decoding):
        model.cfg.decoding.greedy.use_cuda_graph_decoder = False
    model.change_decoding_strategy(model.cfg.decoding, verbose=False)


def _passes(model, pieces: list[np.ndarray]) -> list[tuple[list[Timed], list[Timed]]]:
    """Each piece's words and segments (on its own clock) from one ``transcribe`` call.

    NeMo pads a batch to its longest piece and masks the padding (the features' normalisation, the
    convolutions and the attention see each piece's own length), so a piece is heard as it is alone.
    """
    import torch

    # Padded at the end by us, so NeMo does not pad both sides (which would shift every time late).
    padded = [np.concatenate([p, np.zeros(NEMO_PAD_MIN_SAMPLES - len(p), np.float32)])
              if len(p) < NEMO_PAD_MIN_SAMPLES else p for p in pieces]
    with torch.inference_mode():
        # num_workers=0: Windows spawns DataLoader workers, which breaks in apps.
        # timestamps=True is sticky on the model (rnnt_models.py), which suits us.
        hypotheses = model.transcribe(padded, batch_size=len(padded), timestamps=True, num_workers=0,
                                      verbose=False)
    return [_heard_in(hypothesis, len(piece) / SAMPLE_RATE) for hypothesis, piece in zip(hypotheses, pieces)]


def _heard_in(hypothesis, duration: float) -> tuple[list[Timed], list[Timed]]:
    words, segments = words_and_segments(hypothesis, duration)
    text = hypothesis.text.strip()
    if text and not segments:
        segments = [Timed(0.0, duration, text)]
    return words, segments


def transcribe_batch(model, pieces: list[np.ndarray], settings: Settings) -> list[Heard]:
    """What it heard in each piece, from one ``transcribe`` call (the batched path for many files)."""
    heard = _passes_with_fallback(model, pieces)
    return [Heard(0.0, len(piece) / SAMPLE_RATE, " ".join(s.text for s in segments), words=tuple(words),
                  segments=tuple(segments)) for piece, (words, segments) in zip(pieces, heard)]


def batch_items(settings: Settings, model, longest_seconds: float) -> int:
    """How many pieces of ``longest_seconds`` one call may take: on a GPU what its memory holds; on the CPU
    :data:`CPU_BATCH_ITEMS`, whose audio together is no longer than one CPU pass (memory as with one pass)."""
    device = next(model.parameters()).device
    if device.type != "cuda":
        longest = settings.parakeet_pass_seconds or CPU_PASS_SECONDS
        return max(1, min(CPU_BATCH_ITEMS, int(longest // max(longest_seconds, 1e-3))))
    return gpu.batch_items_for(gpu.budget_bytes(settings, device) + gpu.reusable_bytes(device),
                               gpu.precision_of(model), longest_seconds)


def words_and_segments(hypothesis, duration: float) -> tuple[list[Timed], list[Timed]]:
    stamps = hypothesis.timestamp if isinstance(hypothesis.timestamp, dict) else {}

    # NeMo pads clips to whole frames (and we to 1 s), so the last stamp can end past the audio.
    def clamp(t) -> float:
        return min(max(float(t), 0.0), duration)

    # A word starting at or after the end lies wholly in that padding: it was not said (nor its confidence kept).
    said = stamps.get("word", [])
    words = [Timed(clamp(w["start"]), clamp(w["end"]), w["word"], confidence)
             for w, confidence in zip(said, _confidences(hypothesis, len(said))) if float(w["start"]) < duration]
    segments = [Timed(clamp(s["start"]), clamp(s["end"]), s["segment"]) for s in stamps.get("segment", [])]
    return words, segments


def _confidences(hypothesis, words: int) -> list[float | None]:
    """Each word's confidence, paired with the time stamps' words: NeMo's ``word_confidence`` follows the text's
    words (``text.split()``), so it is paired only where both counts agree; otherwise none."""
    found = list(getattr(hypothesis, "word_confidence", None) or [])
    if not found or len(found) != words or len(hypothesis.text.split()) != words:
        return [None] * words
    return [min(max(float(value), 0.0), 1.0) for value in found]


def nemo_asr_spec(key: str, label: str, summary: str, path: Callable[[Settings], Path], *,
                  gpu_bytes: int = 3_000_000_000, **extra) -> ModelSpec:
    """The spec of a ``.nemo`` ASR model whose file ``path(settings)`` names; ``extra`` adds to it or replaces its
    steps (a model of another kind: its own ``load``, ``transcribe``, ...)."""
    optional = not extra.get("setup_by_default", True)
    setup = f"{SETUP_COMMAND} --with-{key}" if optional else SETUP_COMMAND

    def on_disk(settings: Settings) -> str:
        from ..formatting import size_text

        file = path(settings)
        return f"present, {size_text(file.stat().st_size)}" if file.is_file() else \
            "missing (optional)" if optional else "missing"

    spec = dict(
        key=key, label=label, summary=summary,
        load=lambda settings, device: load_for(settings, path(settings), label, device,
                                               word_confidence=extra.get("word_confidence", False)),
        transcribe=transcribe, window_seconds=pass_seconds, transcribe_batch=transcribe_batch,
        batch_items=batch_items,
        source=lambda settings: f"file {path(settings)}",
        on_disk=on_disk,
        provenance=lambda settings: {"file": str(path(settings))},
        vocabulary=boosted, why_unavailable=lambda settings: missing_file_reason(path(settings), setup),
        gpu_bytes=gpu_bytes)
    return ModelSpec(**{**spec, **extra})  # another kind of .nemo model (Canary-1B-v2) brings its own steps
