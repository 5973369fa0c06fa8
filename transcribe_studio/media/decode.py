"""Any media file in, 16 kHz mono float32 out.

We decode with PyAV, whose wheels bundle FFmpeg's libraries, so MP3, M4A, MP4,
WebM, Opus... all work without the user installing FFmpeg. (NeMo's own path
loaders use soundfile/lhotse, which cannot open most video or AAC files, and do
not downmix multi-channel audio for SALM.) The steps are small generators, as
in faster-whisper's ``audio.py``: packets -> decoded frames -> resampled mono
chunks -> one growing buffer. FFmpeg's resampler converts any sample rate and
downmixes any channel layout to mono as the average of the channels.

Memory stays bounded for hours-long files: decoded chunks (a few ms each) go
straight into one float32 array, preallocated from the duration the container
declares and grown in place if needed, so the only big allocation is the result
itself (a 3-hour file: 3 * 3600 * 16000 * 4 bytes, about 690 MB).

Every unusable input raises its own subclass of :class:`BadAudioError`, whose
message names the file and says what to do:

* missing -> ``MediaNotFoundError``; 0 bytes -> ``EmptyMediaError``; over
  ``max_bytes`` -> ``MediaTooLargeError`` (checked before anything is decoded);
* not audio or video -> ``NotMediaError``; no audio track (a silent video) ->
  ``NoAudioTrackError``; no decoder for its codec -> ``UnsupportedCodecError``;
* damaged or cut short -> ``CorruptMediaError``;
* under ``min_seconds`` -> ``AudioTooShortError``; only silence ->
  ``SilentAudioError``.

**Truncated files raise by default.** When the container declares a duration
(WAV header, FLAC STREAMINFO, MP3 Xing/Info frame, MP4 ``moov``, Matroska
``Duration``) and the decoded audio falls short of it by more than
``max(1 s, 5 %)``, the file was cut short (an interrupted copy or download, a
recorder that crashed). A transcript that silently ends halfway is worse than an
error, because the user trusts it to be complete; so we raise
``CorruptMediaError`` saying how much is there. A duration FFmpeg may only
have estimated from the bitrate (an MP3 without a Xing header: the estimate can
be several times the real length) is used only when FFmpeg also reported damage.
Damage: a few bad packets inside an otherwise complete file are skipped with a
logged warning; the file is corrupt when most packets fail, nothing decodes, or
FFmpeg stops reading with more than 10 % of the file left. A cut file that
declares no length of its own (Ogg, ADTS AAC, an MP3 without Xing header) looks
like a shorter complete file and cannot be told apart.

**Silence** is judged on the peak, not the RMS: a file is silent when its
loudest sample is below ``SILENCE_PEAK_DBFS`` (-60 dBFS). Speech recorded at any
usable level peaks far above that (normal speech -20 to -3 dBFS, a distant quiet
talker around -40), while digital silence, dither and a muted microphone's hiss
stay below it. A peak, unlike an RMS, is not diluted by long pauses, so a
three-hour file with a little speech is never called silent.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from ..errors import (
    AudioTooShortError,
    CorruptMediaError,
    EmptyMediaError,
    MediaNotFoundError,
    MediaTooLargeError,
    NoAudioTrackError,
    NotMediaError,
    SilentAudioError,
    UnsupportedCodecError,
)
from ..formatting import duration_text, size_text
from . import SAMPLE_RATE

log = logging.getLogger(__name__)

# Less than this cannot hold a word (the models' first feature frame alone is 25 ms).
MIN_SECONDS = 0.1
# Loudest sample below this means nothing audible was recorded (see the module docstring).
SILENCE_PEAK_DBFS = -60.0
# Decoded audio this much shorter than the declared duration means a truncated file;
# encoder priming and padding (MP3 ~1105, AAC 2112, Opus 312 samples) is far below it.
TRUNCATION_TOLERANCE_SECONDS = 1.0
TRUNCATION_TOLERANCE_FRACTION = 0.05
# A read error that leaves more than this fraction of the file unread means a damaged file.
_UNREAD_FRACTION = 0.10
# A duration within this fraction of size * 8 / bitrate may be FFmpeg's bitrate estimate: not trusted.
_BITRATE_ESTIMATE_MATCH = 0.02
# Preallocate at most this much from a declared duration (a damaged header may claim days);
# beyond it the buffer grows as audio actually arrives.
_MAX_PREALLOCATED_SECONDS = 6 * 3600.0
# Growth step when the declared duration was short or missing: small steps, since the
# array grows in place (realloc) and new space is zero-filled, i.e. really allocated.
_GROWTH_SECONDS = 60.0
# libswresample options for the downmix and rate conversion (see _resampled).
_RESAMPLER_OPTIONS = {"rematrix_maxval": "1.0"}
# How often ``progress`` is called, in seconds of decoded audio.
_PROGRESS_EVERY_SECONDS = 10.0  # ~0.1 s of decoding: a cancel is heard at once

# FFmpeg demuxers that open files which are not audio or video: text, pictures, subtitles.
_NOT_MEDIA_FORMATS = {"tty", "image2", "gif", "apng", "ass", "srt", "webvtt", "subviewer", "subviewer1",
                      "microdvd", "mpl2", "jacosub", "lrc", "pjs", "realtext", "sami", "stl", "vplayer",
                      "scc", "mcc", "aqtitle", "bin", "xbin", "adf", "idf"}

# WAVE format tags whose data size maps to samples: PCM, IEEE float, A-law, mu-law, extensible.
_PCM_WAV_TAGS = {0x0001, 0x0003, 0x0006, 0x0007, 0xFFFE}

# File signatures of media containers: a file that starts like one but cannot be
# opened is damaged (CorruptMediaError), anything else is not media (NotMediaError).
_SIGNATURES = ((0, b"RIFF", "a WAV or AVI"), (0, b"RF64", "a WAV"), (0, b"fLaC", "a FLAC"),
               (0, b"OggS", "an Ogg"), (0, b"ID3", "an MP3"), (4, b"ftyp", "an MP4, M4A or MOV"),
               (4, b"moov", "an MP4 or MOV"), (4, b"mdat", "an MP4 or MOV"), (4, b"free", "an MP4 or MOV"),
               (4, b"wide", "a MOV"), (0, b"\x1aE\xdf\xa3", "a Matroska or WebM"), (0, b"FORM", "an AIFF"),
               (0, b"caff", "a CAF"), (0, b"#!AMR", "an AMR"), (0, b"MAC ", "an APE"), (0, b"wvpk", "a WavPack"),
               (0, b"0&\xb2u\x8ef\xcf\x11", "a WMA or WMV"), (0, b".RMF", "a RealMedia"), (0, b"FLV", "an FLV"),
               (0, b"\x00\x00\x01\xba", "an MPEG program stream"), (0, b"\x00\x00\x01\xb3", "an MPEG video"))


# --- small steps ------------------------------------------------------------

@dataclass
class _DecodeReport:
    """What went wrong while decoding, for the checks after it."""

    good_packets: int = 0
    bad_packets: int = 0
    bytes_read: int = 0  # at least this much of the file was read (packet positions)
    first_error: BaseException | None = None
    read_error: BaseException | None = None

    def note(self, exc: BaseException) -> None:
        self.bad_packets += 1
        self.first_error = self.first_error or exc


def _packets(container, stream, report: _DecodeReport) -> Iterator:
    demuxed = container.demux(stream)
    while True:
        try:
            packet = next(demuxed)
        except StopIteration:
            return
        except Exception as exc:  # noqa: BLE001 - a read error: the rest of the file is unreadable
            report.read_error = exc
            return
        if packet.pos is not None and packet.pos >= 0:
            report.bytes_read = max(report.bytes_read, packet.pos + packet.size)
        yield packet


def _frames(packets: Iterable, report: _DecodeReport) -> Iterator:
    for packet in packets:
        try:
            frames = packet.decode()
        except Exception as exc:  # noqa: BLE001 - a damaged packet mid-file: skip it, keep the rest
            report.note(exc)
            continue
        report.good_packets += 1
        yield from frames


def _resampled(frames: Iterable, sample_rate: int) -> Iterator[np.ndarray]:
    from av.audio.resampler import AudioResampler

    def new():
        # rematrix_maxval=1 scales the downmix so its coefficients sum to 1: stereo becomes (L + R) / 2,
        # never louder than its loudest channel. (For float output FFmpeg otherwise adds L and R at
        # 0.707 each, so identical channels come out 3 dB louder and full-scale audio exceeds 1.0.)
        return AudioResampler(format="flt", layout="mono", rate=sample_rate, options=_RESAMPLER_OPTIONS)

    resampler = new()
    for frame in frames:
        try:
            out_frames = resampler.resample(frame)
        except ValueError:  # channel layout or rate changed mid-stream: flush, start a new one
            for out in resampler.resample(None):
                yield out.to_ndarray().reshape(-1)
            resampler = new()
            out_frames = resampler.resample(frame)
        for out in out_frames:
            yield out.to_ndarray().reshape(-1)
    for out in resampler.resample(None):  # flush what the resampler buffered
        yield out.to_ndarray().reshape(-1)


class _Samples:
    """One float32 array filled in place: no list of chunks, no final concatenate."""

    def __init__(self, capacity: int, growth: int):
        self.array = np.empty(max(capacity, 0), dtype=np.float32)
        self.size = 0
        self.growth = growth

    def append(self, chunk: np.ndarray) -> None:
        end = self.size + len(chunk)
        if end > len(self.array):
            # In place where the OS allows (realloc/mremap for large arrays): no second copy.
            self.array.resize(end + max(self.growth, len(self.array) // 8), refcheck=False)
        self.array[self.size:end] = chunk
        self.size = end

    def finish(self) -> np.ndarray:
        self.array.resize(self.size, refcheck=False)  # gives the unused tail back
        return self.array


def _collect(chunks: Iterable[np.ndarray], capacity: int, sample_rate: int,
             progress: Callable[[float, float | None], None] | None, declared: float | None) -> np.ndarray:
    samples = _Samples(capacity, growth=int(_GROWTH_SECONDS * sample_rate))
    every = int(_PROGRESS_EVERY_SECONDS * sample_rate)
    next_report = every
    for chunk in chunks:
        samples.append(chunk)
        if progress is not None and samples.size >= next_report:
            progress(samples.size / sample_rate, declared)
            next_report += every
    audio = samples.finish()
    if progress is not None:
        progress(len(audio) / sample_rate, declared)
    return audio


# --- checks -----------------------------------------------------------------

def _display_name(path: Path) -> str:
    return " ".join(path.name.splitlines()) or str(path)


def _reason(exc: BaseException) -> str:
    """FFmpeg's one-line reason, without the path it appends."""
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return " ".join(str(text).split())


def _checked_size(path: Path, name: str, max_bytes: int | None) -> int:
    if not path.is_file():
        raise MediaNotFoundError(f"'{name}' does not exist or is not a file.")
    size = path.stat().st_size
    if size == 0:
        raise EmptyMediaError(f"'{name}' is empty (0 bytes), so there is no audio in it.")
    if max_bytes is not None and size > max_bytes:
        raise MediaTooLargeError(f"'{name}' is {size_text(size)}, more than the limit of "
                                 f"{size_text(max_bytes)}, so it was not opened.")
    return size


def _looks_like(path: Path) -> str | None:
    """Which media container the file's first bytes announce, if any (raises OSError if unreadable)."""
    with open(path, "rb") as f:
        head = f.read(189)
    for offset, magic, label in _SIGNATURES:
        if head[offset:offset + len(magic)] == magic:
            return label
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:  # MPEG audio / ADTS frame sync
        return "an MP3 or AAC"
    if len(head) == 189 and head[0] == head[188] == 0x47:  # MPEG-TS: a sync byte every 188 bytes
        return "an MPEG transport stream"
    return None


def _open(path: Path, name: str):
    import av

    looks_like = _looks_like(path)  # also surfaces PermissionError as itself (classified as a disk problem)
    try:
        return av.open(str(path), mode="r", metadata_errors="ignore")
    except Exception as exc:  # noqa: BLE001 - av raises many FFmpeg error types
        if looks_like:
            raise CorruptMediaError(
                f"'{name}' starts like {looks_like} file, but FFmpeg cannot open it ({_reason(exc)}): its header "
                f"or index is damaged or missing, as happens when a copy, download or recording stops early."
            ) from exc
        raise NotMediaError(f"'{name}' is not an audio or video file that FFmpeg recognises "
                            f"({_reason(exc)}).") from exc


def _audio_stream(container, name: str):
    if container.streams.audio:
        stream = container.streams.audio[0]
        if stream.codec_context is None:
            raise UnsupportedCodecError(f"'{name}' has an audio track in a codec that this app's FFmpeg "
                                        f"cannot decode.")
        return stream
    fmt = container.format.name
    kinds = {s.type for s in container.streams}
    if not kinds & {"video"} or fmt in _NOT_MEDIA_FORMATS or fmt.endswith("_pipe"):
        raise NotMediaError(f"'{name}' is not an audio or video file (FFmpeg reads it as "
                            f"'{container.format.long_name or fmt}', which has no sound).")
    raise NoAudioTrackError(f"'{name}' is a video with no audio track, so there is nothing to transcribe.")


def _wav_declared_seconds(path: Path) -> float | None:
    """The duration a WAV header declares (FFmpeg reports the shorter, present part of a cut WAV)."""
    with open(path, "rb") as f:
        head = f.read(12)
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        rate = block_align = tag = 0
        for _ in range(64):
            chunk = f.read(8)
            if len(chunk) < 8:
                return None
            cid, size = chunk[:4], int.from_bytes(chunk[4:], "little")
            if cid == b"fmt ":
                fmt = f.read(size + (size & 1))
                if len(fmt) < 16:
                    return None
                tag = int.from_bytes(fmt[0:2], "little")
                rate, block_align = int.from_bytes(fmt[4:8], "little"), int.from_bytes(fmt[12:14], "little")
            elif cid == b"data":
                # Only uncompressed PCM/float/A-law/mu-law map bytes to samples; 0 and 0xFFFFFFFF
                # are placeholders left by recorders that stream WAV (FFmpeg then reads to the end).
                if tag not in _PCM_WAV_TAGS or not rate or not block_align or size in (0, 0xFFFFFFFF):
                    return None
                return size / block_align / rate
            else:
                f.seek(size + (size & 1), 1)
    return None


def probe_seconds(path: str | Path) -> float | None:
    """How long the file says its audio is, read from its header without decoding; None when it does not say
    or cannot be opened (decoding then says what is wrong)."""
    try:
        with _open(Path(path), Path(path).name) as container:
            return _duration(container, _audio_stream(container, Path(path).name))
    except Exception:  # noqa: BLE001 - any file that cannot be probed is decoded (and explained) later
        return None


def _duration(container, stream) -> float | None:
    """The audio track's declared duration in seconds, else the container's when it has one stream."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None and len(container.streams) == 1:
        return container.duration / 1_000_000
    return None


def _declared_duration(container, stream, path: Path, size: int) -> tuple[float | None, bool]:
    """The declared duration of the audio, and whether it can be trusted to detect a cut file.

    Not trusted: a duration equal to size * 8 / bitrate, which may be FFmpeg's estimate
    from the bitrate of the first frames (wrong by several times for a VBR MP3 without
    a Xing header). It is still used when FFmpeg also reports damage.
    """
    declared = _wav_declared_seconds(path)  # FFmpeg reports only the part of a cut WAV that is present
    if declared is not None:
        return declared, True
    duration = _duration(container, stream)
    if not duration:
        return None, False
    bit_rate = stream.codec_context.bit_rate
    estimated = bool(bit_rate) and abs(size * 8 / bit_rate - duration) <= _BITRATE_ESTIMATE_MATCH * duration + 0.5
    return duration, not estimated


def _size_hint(container, stream, declared: float | None) -> float:
    """Seconds to preallocate: any declared duration (pages never written cost no memory)."""
    container_seconds = container.duration / 1_000_000 if container.duration else 0.0
    return max(declared or 0.0, _duration(container, stream) or 0.0, container_seconds)


def _check_complete(name: str, seconds: float, declared: float | None, trusted: bool, report: _DecodeReport,
                    size: int) -> None:
    error = report.read_error or report.first_error
    damaged = error is not None
    ffmpeg = f" (FFmpeg: {_reason(error)})" if damaged else ""
    if seconds == 0 and damaged:
        raise CorruptMediaError(f"'{name}' is damaged: none of its audio could be decoded{ffmpeg}.")
    tolerance = max(TRUNCATION_TOLERANCE_SECONDS, TRUNCATION_TOLERANCE_FRACTION * (declared or 0.0))
    problem = None
    if report.bad_packets > report.good_packets:
        problem = (f"'{name}' is damaged: {report.bad_packets} of its "
                   f"{report.bad_packets + report.good_packets} audio packets could not be decoded{ffmpeg}")
    elif declared and (trusted or damaged) and declared - seconds > tolerance:
        what = "damaged or cut short" if damaged else "incomplete"
        why = "" if damaged else ", so it was probably cut short"
        problem = (f"'{name}' is {what}: only {duration_text(seconds)} of the {duration_text(declared)} it "
                   f"declares could be decoded{ffmpeg}{why}")
    elif report.read_error is not None and report.bytes_read < (1 - _UNREAD_FRACTION) * size:
        problem = (f"'{name}' is damaged: FFmpeg stopped reading it at an unreadable part well before its "
                   f"end{ffmpeg}, so only its first {duration_text(seconds)} of audio could be decoded")
    if problem:
        raise CorruptMediaError(problem + ".")
    if damaged:
        skipped = f"skipped {report.bad_packets} damaged audio packet(s)" if report.bad_packets else ""
        stopped = "stopped at an unreadable part near the end" if report.read_error is not None else ""
        log.warning("'%s': %s%s.", name, " and ".join(filter(None, (skipped, stopped))), ffmpeg)


def _check_usable(name: str, audio: np.ndarray, sample_rate: int, min_seconds: float, silence_dbfs: float) -> None:
    seconds = len(audio) / sample_rate
    if seconds < min_seconds:
        raise AudioTooShortError(f"'{name}' holds only {seconds * 1000:.0f} ms of audio; at least "
                                 f"{min_seconds * 1000:.0f} ms is needed to transcribe anything.")
    peak = max(float(audio.max()), -float(audio.min()))  # no temporary copy, unlike np.abs
    if not math.isfinite(peak):  # NaN or inf in a float file: would poison the models' features
        bad = int(np.count_nonzero(~np.isfinite(audio)))
        if bad == len(audio):
            raise CorruptMediaError(f"'{name}' holds no sound: every one of its samples is NaN or infinite (not a "
                                    "number), as in a damaged or wrongly written floating-point file.")
        log.warning("'%s': %d of its samples were NaN or infinite; they were replaced.", name, bad)
        np.nan_to_num(audio, copy=False, nan=0.0, posinf=1.0, neginf=-1.0)
        peak = max(float(audio.max()), -float(audio.min()))
    if peak <= 10 ** (silence_dbfs / 20):
        level = "every sample is zero" if peak == 0 else f"its loudest moment is {20 * math.log10(peak):.0f} dBFS"
        raise SilentAudioError(f"'{name}' is {duration_text(seconds)} of silence ({level}, below the "
                               f"{silence_dbfs:.0f} dBFS at which anything is audible), so there is no speech "
                               f"to transcribe.")


# --- public API -------------------------------------------------------------

def decode_audio(path: str | Path, sample_rate: int = SAMPLE_RATE, *, max_bytes: int | None = None,
                 min_seconds: float = MIN_SECONDS, silence_dbfs: float = SILENCE_PEAK_DBFS,
                 progress: Callable[[float, float | None], None] | None = None) -> np.ndarray:
    """Decode the first audio track of ``path`` to mono float32 at ``sample_rate``.

    ``max_bytes``: refuse larger files before opening them (None: no limit).
    ``min_seconds`` / ``silence_dbfs``: what counts as too short / silent.
    ``progress(decoded_seconds, declared_seconds_or_None)`` is called every few seconds of audio and at the
    end; it may raise (a cancel) to stop decoding there.

    Raises a subclass of :class:`BadAudioError` with a reason a user can act on.
    """
    from av import FFmpegError

    path = Path(path)
    name = _display_name(path)
    size = _checked_size(path, name, max_bytes)
    report = _DecodeReport()
    with _open(path, name) as container:
        stream = _audio_stream(container, name)
        declared, trusted = _declared_duration(container, stream, path, size)
        capacity = int((min(_size_hint(container, stream, declared), _MAX_PREALLOCATED_SECONDS) + 1.0) * sample_rate)
        chunks = _resampled(_frames(_packets(container, stream, report), report), sample_rate)
        try:
            audio = _collect(chunks, capacity, sample_rate, progress, declared)
        except FFmpegError as exc:  # the resampler refused what the decoder produced
            raise CorruptMediaError(f"'{name}' could not be decoded ({_reason(exc)}).") from exc
    _check_complete(name, len(audio) / sample_rate, declared, trusted, report, size)
    _check_usable(name, audio, sample_rate, min_seconds, silence_dbfs)
    return audio


def decode_chunks(path: str | Path, sample_rate: int = SAMPLE_RATE) -> Iterator[np.ndarray]:
    """The first audio track of ``path`` as mono float32 chunks at ``sample_rate`` (a decoded frame each, tens
    of ms), decoded as they are read: one pass over an hours-long file in the memory of a chunk, for a summary
    of it (its envelope).

    The same checks as :func:`decode_audio` for a file that cannot be opened, is damaged or was cut short (raised
    once the chunks run out, so a caller keeps nothing it summed); none for silence or length, which a summary
    shows as they are.
    """
    from av import FFmpegError

    path = Path(path)
    name = _display_name(path)
    size = _checked_size(path, name, None)
    report, samples = _DecodeReport(), 0
    with _open(path, name) as container:
        stream = _audio_stream(container, name)
        declared, trusted = _declared_duration(container, stream, path, size)
        try:
            for chunk in _resampled(_frames(_packets(container, stream, report), report), sample_rate):
                samples += len(chunk)
                yield chunk
        except FFmpegError as exc:  # the resampler refused what the decoder produced
            raise CorruptMediaError(f"'{name}' could not be decoded ({_reason(exc)}).") from exc
    _check_complete(name, samples / sample_rate, declared, trusted, report, size)
