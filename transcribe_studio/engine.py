"""16 kHz mono audio in, :class:`Transcript` out, with the model from the cache.

Both calls are the plain NeMo ones (``ASRModel.transcribe`` and
``SALM.generate``) on in-memory audio, so nothing is re-read from disk and
NeMo's own loaders never see a format they cannot open.
"""

from __future__ import annotations

import numpy as np

from .audio import SAMPLE_RATE
from .models import CANARY, LABELS, PARAKEET, ModelCache
from .transcript import Segment, Transcript, Word

# Canary-Qwen was trained on audio of at most 40 s (model card, "Input length");
# it silently drops what lies beyond, so longer audio goes in windows of <= 40 s.
CANARY_WINDOW_SECONDS = 40.0
# 40 s of fast speech is ~150 words, ~200 tokens; leave headroom, but bound it.
CANARY_MAX_NEW_TOKENS = 320
CANARY_BATCH_SIZE = 4
CANARY_PROMPT = "Transcribe the following: {tag}"


def transcribe(cache: ModelCache, model_name: str, audio: np.ndarray) -> Transcript:
    model = cache.get(model_name)
    if model_name == PARAKEET:
        return transcribe_parakeet(model, audio)
    if model_name == CANARY:
        return transcribe_canary(model, audio)
    raise ValueError(f"unknown model {model_name!r}")


def _words_and_segments(hypothesis, duration: float) -> tuple[list[Word], list[Segment]]:
    stamps = hypothesis.timestamp if isinstance(hypothesis.timestamp, dict) else {}

    # NeMo pads clips to whole frames (and to 1 s), so the last stamp can end past the audio.
    def clamp(t) -> float:
        return min(max(float(t), 0.0), duration)

    words = [Word(clamp(w["start"]), clamp(w["end"]), w["word"]) for w in stamps.get("word", [])]
    segments = [Segment(clamp(s["start"]), clamp(s["end"]), s["segment"]) for s in stamps.get("segment", [])]
    return words, segments


def transcribe_parakeet(model, audio: np.ndarray) -> Transcript:
    import torch

    with torch.inference_mode():
        # num_workers=0: Windows spawns DataLoader workers, which breaks in apps.
        # timestamps=True is sticky on the model (rnnt_models.py), which suits us.
        hypothesis = model.transcribe([audio], batch_size=1, timestamps=True, num_workers=0, verbose=False)[0]
    duration = len(audio) / SAMPLE_RATE
    words, segments = _words_and_segments(hypothesis, duration)
    text = hypothesis.text.strip()
    if not segments and text:
        segments = [Segment(0.0, duration, text)]
    return Transcript(text=text, segments=segments, words=words, model=LABELS[PARAKEET], duration=duration)


def windows(audio: np.ndarray, seconds: float = CANARY_WINDOW_SECONDS) -> list[tuple[int, int]]:
    """Split into consecutive [start, end) sample ranges of at most ``seconds``."""
    size = int(seconds * SAMPLE_RATE)
    return [(start, min(start + size, len(audio))) for start in range(0, len(audio), size)]


def transcribe_canary(model, audio: np.ndarray, batch_size: int = CANARY_BATCH_SIZE) -> Transcript:
    import torch

    prompt = [{"role": "user", "content": CANARY_PROMPT.format(tag=model.audio_locator_tag)}]
    spans = windows(audio)
    segments: list[Segment] = []
    for first in range(0, len(spans), batch_size):
        batch = spans[first:first + batch_size]
        longest = max(end - start for start, end in batch)
        audios = torch.zeros(len(batch), longest, dtype=torch.float32)
        for row, (start, end) in enumerate(batch):
            audios[row, : end - start] = torch.from_numpy(audio[start:end])
        lens = torch.tensor([end - start for start, end in batch], dtype=torch.int64)
        with torch.inference_mode():
            ids = model.generate(prompts=[prompt] * len(batch), audios=audios.to(model.device),
                                 audio_lens=lens.to(model.device), max_new_tokens=CANARY_MAX_NEW_TOKENS)
        for (start, end), row in zip(batch, ids):
            text = model.tokenizer.ids_to_text(row.cpu()).strip()
            if text:
                segments.append(Segment(start / SAMPLE_RATE, end / SAMPLE_RATE, text))
    return Transcript(text=" ".join(s.text for s in segments), segments=segments,
                      model=LABELS[CANARY], duration=len(audio) / SAMPLE_RATE)
