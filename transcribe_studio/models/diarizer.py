"""Streaming Sortformer 4spk-v2: who spoke when, for up to 4 speakers, from a local ``.nemo``.

Not a transcriber: its spec has ``transcribe=None`` (so it is never offered as
``--model``) and a ``diarize`` function instead, which the transcription (``transcription/speakers.py``) calls
on the same 16 kHz audio the transcript was made from. Loaded like Parakeet:
the file is checked first (a missing or damaged file gets a message naming it
and the fix, see :func:`.nemo_asr.check_nemo_file`), then
``SortformerEncLabelModel.restore_from`` through :mod:`.fast_load`.

**Streaming, with the model card's "very high latency" setting.** The model
card lists four streaming settings (chunk, right context, FIFO, cache update
period, speaker cache, in 80 ms frames); for a whole file, where latency does
not matter, we take the most accurate one, 30.4 s: chunk 340, right context 40,
FIFO 40, update period 300, speaker cache 188. Memory then stays bounded by the
chunk, the FIFO and the cache, however long the recording. An offline (non
streaming) Sortformer file is run offline up to :data:`OFFLINE_MAX_SECONDS`
(its training session length) and streaming beyond.

**Features in pieces.** NeMo's ``diarize`` computes the mel features of the whole
recording in one call before streaming over them; its STFT and the copies
around it took ~36 MB per minute of audio (2.2 GB for an hour, measured in
docs/PERFORMANCE.md), on the GPU when the model is there. The model's feature
extractor is frame-local (no normalisation across the file; each 10 ms frame
sees 25 ms of audio), so :func:`_features_in_pieces` computes the same frames a
minute at a time, with a margin on each side, and only the features (3 MB per
minute) are kept whole.

The model has 4 output slots: a fifth speaker cannot be told apart and is
merged into one of the four.
"""

from __future__ import annotations

import logging

import numpy as np

from ..media.decode import SAMPLE_RATE
from ..progress import Progress
from ..settings import SETUP_COMMAND, Settings
from .nemo_asr import missing_file_reason
from .pinned import PinnedFile
from .spec import ModelSpec, SpeakerTurn, register

log = logging.getLogger(__name__)

LABEL = "Streaming Sortformer 4spk-v2"
# v2, not the newer v2.1: v2 is CC-BY-4.0 (v2.1 is under NVIDIA's Open Model License) and its published
# DIHARD III 1-4 speaker DER is better (13.24 vs 15.09). Its size and SHA-256 are not pinned here: setup
# takes them from the Hub's metadata for this commit at the first download and records them beside the file.
REPO = "nvidia/diar_streaming_sortformer_4spk-v2"
REVISION = "579ffc4ec4dda621161097cf264503d76747d1f9"
FILENAME = "diar_streaming_sortformer_4spk-v2.nemo"
FILE = PinnedFile("diarizer", "speaker diarizer", REPO, REVISION, FILENAME, "diarizer.nemo", "DIARIZER")
MAX_SPEAKERS = 4
# The model card's "very high latency" (30.4 s) streaming setting, in 80 ms frames.
STREAMING_SETTING = {"chunk_len": 340, "chunk_right_context": 40, "fifo_len": 40, "spkcache_update_period": 300,
                     "spkcache_len": 188}
# Offline Sortformer models were trained on 90 s sessions; longer audio goes in streaming mode.
OFFLINE_MAX_SECONDS = 90.0
# Feature extraction runs a minute of audio at a time (see the module docstring).
PIECE_SECONDS = 60.0
# ~117 M parameters in fp32 plus the streaming working set.
GPU_BYTES = 2_000_000_000


def parse_rows(rows: list[str]) -> list[SpeakerTurn]:
    """NeMo's ``"start end speaker_N"`` rows as turns, in time order."""
    turns = []
    for row in rows:
        start, end, speaker = row.split()
        turns.append(SpeakerTurn(float(start), float(end), int(speaker.rsplit("_", 1)[-1])))
    return sorted(turns, key=lambda t: (t.start, t.end, t.slot))


def load(settings: Settings, device):
    """The diarizer from its local file, checked first (and against the setup's record, if there is one)."""
    path = FILE.check_before_load(settings)
    from nemo.collections.asr.models import SortformerEncLabelModel

    from .fast_load import restore

    model = restore(path, map_location=device, model_class=SortformerEncLabelModel)
    model.eval()
    modules = model.sortformer_modules
    for name, value in STREAMING_SETTING.items():
        setattr(modules, name, value)
    modules._check_streaming_parameters()
    model.studio_streaming = bool(model.cfg.get("streaming_mode", False))
    model.studio_precision = "fp32"
    featurizer = model.preprocessor.featurizer
    if _frame_local(featurizer):
        featurizer.forward = _features_in_pieces(featurizer, featurizer.forward)
    return model


def _frame_local(featurizer) -> bool:
    """Whether each feature frame depends on its own few samples only (what :func:`_features_in_pieces` needs)."""
    return (getattr(featurizer, "stft_pad_amount", None) is None and not getattr(featurizer, "exact_pad", False)
            and getattr(featurizer, "frame_splicing", 1) == 1
            and str(getattr(featurizer, "normalize", None)).upper() in ("NA", "NONE"))


def _features_in_pieces(featurizer, whole, piece_seconds: float = PIECE_SECONDS):
    """``featurizer.forward`` that computes one recording's frames piece by piece (same frames, bounded memory).

    Frame k is centred on sample k * hop and sees n_fft / 2 samples either side (plus one for pre-emphasis),
    so each piece gets a margin wider than that on both sides and keeps only the frames of its own span."""
    import torch

    hop = int(featurizer.hop_length)
    span = int(piece_seconds * SAMPLE_RATE) // hop * hop
    margin = (int(featurizer.n_fft) // 2 // hop + 2) * hop

    def forward(x, seq_len, linear_spec=False):
        if linear_spec or x.shape[0] != 1 or int(seq_len[0]) <= span + 2 * margin:
            return whole(x, seq_len, linear_spec)
        n = int(seq_len[0])
        frames = int(featurizer.get_seq_len(seq_len)[0])  # the frames NeMo counts valid (n // hop)
        pieces = []
        for start in range(0, n, span):
            left, right = max(0, start - margin), min(n, start + span + margin)
            piece, _ = whole(x[:, left:right], torch.tensor([right - left], device=seq_len.device))
            first = (start - left) // hop
            keep = min(span // hop, frames - start // hop)
            pieces.append(piece[:, :, first:first + keep])
        # laid out as the whole-file call does: its STFT's n // hop + 1 columns, padded to a multiple of pad_to
        columns = n // hop + 1
        pad_to = featurizer.pad_to if isinstance(featurizer.pad_to, int) else 0
        if pad_to > 0 and columns % pad_to:
            columns += pad_to - columns % pad_to
        features = torch.nn.functional.pad(torch.cat(pieces, dim=2), (0, columns - frames), value=featurizer.pad_value)
        return features, torch.tensor([frames], device=seq_len.device, dtype=torch.long)

    return forward


def diarize(model, audio: np.ndarray, settings: Settings, progress: Progress) -> list[SpeakerTurn]:
    """Who spoke when in ``audio`` (16 kHz mono): NeMo's ``diarize`` on the in-memory array."""
    import torch

    if len(audio) == 0:
        return []
    progress(0.0, "listening for speakers")
    model.streaming_mode = model.studio_streaming or len(audio) / SAMPLE_RATE > OFFLINE_MAX_SECONDS
    with torch.inference_mode():
        # num_workers=0: Windows spawns DataLoader workers, which breaks in apps.
        rows = model.diarize(audio=[audio], sample_rate=SAMPLE_RATE, batch_size=1, num_workers=0, verbose=False)[0]
    progress(1.0, "speakers found")
    return parse_rows(rows)


def _on_disk(settings: Settings) -> str:
    from ..formatting import size_text

    file = settings.diarizer_path
    return f"present, {size_text(file.stat().st_size)}" if file.is_file() else "missing (optional)"


def _startup_line(settings: Settings) -> str:
    found = "found" if settings.diarizer_path.is_file() else f"not found; `{SETUP_COMMAND}` fetches it"
    return f"{LABEL} (speakers, optional): {settings.diarizer_path} ({found})"


def _description(settings: Settings) -> str:
    return f"""**{LABEL}** (who spoke: `--speakers` in the CLI) tells up to {MAX_SPEAKERS} speakers apart and
labels the transcript "Speaker 1", "Speaker 2", ... in order of first appearance. It loads from the local file
`{settings.diarizer_path}` with NeMo's `SortformerEncLabelModel.restore_from`: fully offline. It has
{MAX_SPEAKERS} output slots, so with more than {MAX_SPEAKERS} speakers some are merged. NVIDIA's model,
CC-BY-4.0. Optional: without the file, transcripts are made without speaker labels."""


SPEC = register(ModelSpec(
    key="diarizer", label=LABEL, summary=f"who spoke: up to {MAX_SPEAKERS} speakers",
    load=load, transcribe=None, diarize=diarize,
    window_seconds=lambda settings, model: float("inf"),
    source=lambda settings: f"file {settings.diarizer_path}",
    on_disk=_on_disk,
    provenance=lambda settings: {"file": str(settings.diarizer_path)},
    gpu_bytes=GPU_BYTES, setup=FILE.setup, check=FILE.check, startup_line=_startup_line, description=_description,
    why_unavailable=lambda settings: missing_file_reason(settings.diarizer_path), options=FILE.options(),
    speed={"cuda": 500.0, "cpu": 25.0},  # the CPU figure measured (docs/PERFORMANCE.md); the GPU one not yet
    max_speakers=MAX_SPEAKERS, memory="about 0.5 GB, and about 1 GB more for an hour of audio",
    notes=["Speaker diarization (optional): loaded with `SortformerEncLabelModel.restore_from` from a local "
           "`.nemo` file; at most 4 speakers."]))
