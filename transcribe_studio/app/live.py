"""What the Live view shows and keeps: the captions as HTML (settled words, then the ones still being decided,
lighter), how the captions keep up with speech, what the page says about the device before Record, and the
recording saved at Stop."""

from __future__ import annotations

import html
import os
from datetime import datetime
from pathlib import Path

from ..live import Caption, LiveStreams
from ..settings import Settings

# The compute a chunk took on this project's 2-core test machine, the first live model at full size on its CPU
# (docs/PERFORMANCE.md, "Live captions"): what the page says before Record on a machine without a GPU.
CPU_SECONDS_PER_CHUNK = 0.55
RECENT_STEPS = 10  # how many of the latest chunks the pace is judged on


def live_captions_html(caption: Caption) -> str:
    settled = html.escape(caption.settled)
    pending = f' <span class="pending">{html.escape(caption.pending)}</span>' if caption.pending else ""
    return f'<p aria-live="polite">{settled}{pending}</p>'


def live_pace(live: LiveStreams) -> str:
    """Whether the captions keep up: the recent chunks' compute against their length."""
    recent = live.step_seconds[-RECENT_STEPS:]
    if not recent:
        return "Listening..."
    took, chunk = sorted(recent)[len(recent) // 2], live.options.chunk_seconds
    if took < chunk:
        return f"Keeping up: about {took:.2f} s of work for each {chunk:g} s of speech."
    return (f"**Falling behind:** each {chunk:g} s of speech takes about {took:.2f} s to hear on this machine, so the "
            "captions lag more and more. Nothing is lost: Stop still saves and transcribes the whole recording.")


def live_device_note(settings: Settings) -> str:
    """Before Record: on a machine without a GPU, how fast a CPU was measured to be, and what that means."""
    import torch

    if settings.device != "cpu" and torch.cuda.is_available():
        return ""
    from ..models.spec import live_captioners

    return ("**Running on the CPU.** A 2-core CPU needed about "
            f"{CPU_SECONDS_PER_CHUNK:.2f} s to hear each 0.8 s of speech with {live_captioners()[0].label} "
            "(docs/PERFORMANCE.md): it keeps up with one tab recording, not with two at once. The line under "
            "Record says how it goes once you start; Stop always saves the whole recording and transcribes it for "
            "History.")


def save_live_recording(recording) -> str:
    """The recording as a 16 kHz WAV in the app's upload folder, named by when it ended; its path."""
    import soundfile

    from .startup import UPLOADS_ENV, default_upload_folder

    folder = Path(os.environ.get(UPLOADS_ENV) or default_upload_folder()) / "live"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"live {datetime.now().strftime('%Y-%m-%d %H-%M-%S')}.wav"
    soundfile.write(path, recording, 16000, subtype="PCM_16")
    return str(path)
