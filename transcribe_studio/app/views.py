"""What the page shows, as plain data: markdown, table rows, a transcript opened from History.

No Gradio here: the API functions (:mod:`.api`) and the event handlers
(:mod:`.handlers`) build their answers from these.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import StudioError
from ..formatting import clock, duration_text
from ..media.decode import SAMPLE_RATE, decode_audio
from ..models import ModelCache, gpu
from ..outputs.history import HistoryStore
from .jobs import JobReport, JobState

SEGMENT_HEADERS = ["start", "end", "text"]
FILE_HEADERS = ["file", "status", "details"]
HISTORY_HEADERS = ["id", "created (UTC)", "file", "model", "duration", "preview"]


@functools.lru_cache(maxsize=1)
def compute_device_note() -> str:
    import torch

    if torch.cuda.is_available():
        return f"Running on GPU: {torch.cuda.get_device_name(0)}."
    notice = gpu.cpu_torch_notice()
    if notice:  # an NVIDIA card that this PyTorch cannot use: say how to fix it, on the page too
        message, _, command = notice.rpartition("\n")
        return f"**{message}**\n\n```\n{command}\n```"
    return ("**No GPU detected: running on the CPU.** Transcription works but is much slower "
            "(minutes per minute of audio for the larger models).")


def status_markdown(cache: ModelCache) -> str:
    """The device, each model's state, and the latest notices (a model unloaded to make room...)."""
    lines = [compute_device_note(), ""]
    lines += [f"- **{row.spec.label}**: {row.status.describe()}" for row in cache.snapshot()]
    lines += [f"- *{notice}*" for notice in list(cache.notices)[-3:]]
    return "\n".join(lines)


def error_markdown(error: StudioError) -> str:
    return f"**{error.title}.** {error.message}\n\n**What to do:** {error.next_steps}"


@dataclass(frozen=True)
class View:
    """One transcription as the Transcribe tab shows it."""
    text: str = ""
    segments: list[list[str]] = field(default_factory=list)  # [start, end, text], times as clock text
    downloads: list[str] = field(default_factory=list)       # paths of its output files
    entry: str | None = None                                  # its History entry id
    audio: str | None = None                                  # its kept audio, for replaying segments
    times: list[tuple[float, float]] = field(default_factory=list)  # each segment's (start, end) in seconds

    @property
    def state(self) -> dict:
        """What the page keeps between events (a ``gr.State``) to replay a segment."""
        return {"entry": self.entry, "audio": self.audio, "segments": self.times} if self.entry else {}


def view(store: HistoryStore, entry_id: str | None) -> View:
    """The History entry ``entry_id`` as the page shows it (empty for no id)."""
    if not entry_id:
        return View()
    transcript, _, entry = store.load(entry_id)
    return transcript_view(transcript, entry.files, entry_id, str(entry.audio) if entry.audio else None)


def transcript_view(transcript, downloads=(), entry: str | None = None, audio: str | None = None) -> View:
    """``transcript`` as the Transcribe tab shows it; with no ``entry``, one that could not be saved."""
    return View(text=transcript.text,
                segments=[[clock(s.start), clock(s.end), s.text] for s in transcript.segments],
                downloads=[str(p) for p in downloads], entry=entry, audio=audio,
                times=[(s.start, s.end) for s in transcript.segments])


@functools.lru_cache(maxsize=1)
def _decoded(path: str, mtime_ns: int):
    # One recording at a time stays decoded, so clicking through its segments is instant.
    return decode_audio(path)


def segment_clip(audio_path: str | None, start: float, end: float):
    """(rate, samples) of one segment, for the player; None when the audio is gone."""
    if not audio_path or not Path(audio_path).is_file():
        return None
    audio = _decoded(audio_path, Path(audio_path).stat().st_mtime_ns)
    return SAMPLE_RATE, audio[int(start * SAMPLE_RATE):int(end * SAMPLE_RATE)]


def history_rows(store: HistoryStore) -> list[list[str]]:
    """One row per complete History entry, newest first (see ``HISTORY_HEADERS``)."""
    return [[e.id, e.created.strftime("%Y-%m-%d %H:%M:%S"), e.source, e.model, clock(e.duration), e.preview]
            for e in store.entries()]


def file_rows(results) -> list[list[str]]:
    """One row per file of a job so far (see ``FILE_HEADERS``)."""
    return [[r.source.name, "done" if r.ok else "failed", _outcome(r)] for r in results]


def _outcome(result) -> str:
    if not result.ok:
        return f"{result.error.title}: {result.error.message}"
    if not result.transcript.text:
        return f"no speech recognised in {result.transcript.duration:.1f} s of audio"
    return f"{clock(result.transcript.duration)} of audio in {result.seconds:.1f} s"


def job_summary(results, total: int, started: float) -> str:
    """How far a job is, and what went wrong with which file."""
    failed = [r for r in results if not r.ok]
    elapsed = f"{time.monotonic() - started:.0f} s"
    if total == 1 and failed:
        return _failure_markdown(failed[0])
    head = f"{len(results) - len(failed)} of {total} file(s) transcribed ({elapsed})."
    if len(results) < total:
        head = f"Working: {len(results)} of {total} file(s) done ({elapsed})..."
    return head + "".join(f"\n\n**{r.source.name}**: {_failure_markdown(r)}" for r in failed)


UNSAVED = "\n\n**Not saved:** the transcript is shown here but is in no file and not in History; copy it now."


def _failure_markdown(result) -> str:
    # A transcript with an error was transcribed but not saved (a full disk): the page still shows it
    return error_markdown(result.error) + (UNSAVED if result.transcript is not None else "")


PROGRESS_BAR_CELLS = 20


def progress_markdown(report: JobReport) -> str:
    """A running or queued job as the page's one progress area shows it."""
    if report.cancelling:
        return "**Cancelling after the current step...** Finished files stay saved."
    if report.state is JobState.QUEUED:
        return f"**Waiting** for {report.ahead} job(s) ahead of this one to finish..."
    filled = round(report.fraction * PROGRESS_BAR_CELLS)
    bar = "\u25b0" * filled + "\u25b1" * (PROGRESS_BAR_CELLS - filled)
    timing = f"{duration_text(report.elapsed)} elapsed"
    if report.remaining is not None:
        timing += f", about {duration_text(report.remaining)} left"
    return f"**Working** {bar} {report.fraction:.0%}\n\n{report.note}\n\n{timing}"
