"""Real media files for tests, encoded with PyAV (its bundled FFmpeg), and signals to put in them.

``write_audio(path, signal, rate)`` picks the codec from the extension: .wav
(PCM), .flac, .mp3 (libmp3lame), .m4a (AAC in MP4), .ogg/.opus (Opus in Ogg,
48 kHz), .mka (FLAC in Matroska). ``write_video`` makes an MP4 (MPEG-4 video)
with an AAC track, or with no audio track at all. Signals are float arrays of
shape (n,) for mono or (n, channels).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# extension -> (encoder, container format)
AUDIO_FORMATS = {
    ".wav": ("pcm_s16le", "wav"),
    ".flac": ("flac", "flac"),
    ".mp3": ("libmp3lame", "mp3"),
    ".m4a": ("aac", "mp4"),
    ".ogg": ("libopus", "ogg"),
    ".opus": ("libopus", "ogg"),
    ".mka": ("flac", "matroska"),
}

_FRAME = 1024  # samples per frame handed to the encoder (PyAV re-frames for the codec)


def tone(seconds: float, rate: int = 44100, freq: float = 440.0, amplitude: float = 0.3,
         channels: int = 1) -> np.ndarray:
    """A sine; with several channels, channel c has amplitude ``amplitude / (c + 1)``."""
    t = np.arange(int(round(seconds * rate))) / rate
    wave = np.sin(2 * np.pi * freq * t)
    if channels == 1:
        return (amplitude * wave).astype(np.float32)
    return np.stack([amplitude / (c + 1) * wave for c in range(channels)], axis=1).astype(np.float32)


# Formants (F1, F2, F3) of seven English vowels, in Hz (Peterson & Barney).
_VOWELS = ((730, 1090, 2440), (270, 2290, 3010), (300, 870, 2240), (530, 1840, 2480),
           (570, 840, 2410), (660, 1720, 2410), (440, 1020, 2240))


def _vocal_tract(source: np.ndarray, rate: int, formants) -> np.ndarray:
    """A glottal pulse train through a -6 dB/octave tilt and three formant resonators (FFT, zero-padded)."""
    n = len(source) + 2048
    z = np.exp(-2j * np.pi * np.fft.rfftfreq(n))  # e^{-jw}
    response = 0
    for i, (freq, gain) in enumerate(zip(formants, (1.0, 0.6, 0.3))):
        r, theta = np.exp(-np.pi * (60 + 40 * i) / rate), 2 * np.pi * freq / rate
        response = response + gain * (1 - r) / (1 - 2 * r * np.cos(theta) * z + r * r * z * z)
    return np.fft.irfft(np.fft.rfft(source, n) * response / (1 - 0.97 * z), n)[:len(source)]


def speechlike(seconds: float, rate: int = 16000, seed: int = 0, f0: float = 120.0) -> np.ndarray:
    """Synthetic speech that Silero VAD takes for speech: vowel syllables of 120-280 ms.

    A falling, wobbling pitch around ``f0``, formants of a random vowel per
    syllable, a syllable-shaped envelope and, before half the syllables, a short
    fricative noise burst. (Pure tones, noise, hum and amplitude-modulated
    harmonics are not detected as speech; the formants and consonants matter.)
    """
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    out = np.zeros(n)
    pos = 0
    while pos < n:
        syllable = int(rng.uniform(0.12, 0.28) * rate)
        m = min(syllable, n - pos)
        t = np.arange(m) / rate
        pitch = f0 * (1.15 - 0.3 * pos / n) * (1 + 0.08 * np.sin(2 * np.pi * rng.uniform(1, 3) * t + rng.uniform(0, 6)))
        pulses = np.diff(np.floor(np.cumsum(pitch / rate)), prepend=0.0)
        y = _vocal_tract(pulses, rate, _VOWELS[rng.integers(len(_VOWELS))])
        y *= np.sin(np.pi * np.arange(m) / syllable) ** 0.6
        y /= np.max(np.abs(y)) + 1e-9
        if rng.random() < 0.5:
            k = int(rng.uniform(0.04, 0.08) * rate)
            hiss = np.diff(rng.standard_normal(k + 1)) * 0.1 * np.hanning(k)
            y = np.concatenate([hiss, y])[:m]
        out[pos:pos + m] = y
        pos += m + int(rng.uniform(0.0, 0.06) * rate)
    return (0.5 * out / max(np.max(np.abs(out)), 1e-9)).astype(np.float32)


def room_tone(seconds: float, rate: int = 16000, level: float = 1e-3, seed: int = 0) -> np.ndarray:
    """Quiet white noise (default -60 dBFS RMS), like a pause in a real recording."""
    return (level * np.random.default_rng(seed).standard_normal(int(seconds * rate))).astype(np.float32)


def _layout(signal: np.ndarray) -> tuple[np.ndarray, str]:
    planar = signal[None, :] if signal.ndim == 1 else signal.T
    channels = planar.shape[0]
    layout = {1: "mono", 2: "stereo", 6: "5.1"}.get(channels)
    if layout is None:
        raise ValueError(f"unsupported channel count {channels}")
    return np.ascontiguousarray(planar, dtype=np.float32), layout


def _encode_audio(container, stream, planar: np.ndarray, layout: str, rate: int, start: int, stop: int) -> None:
    import av

    for first in range(start, stop, _FRAME):
        frame = av.AudioFrame.from_ndarray(planar[:, first:min(first + _FRAME, stop)], format="fltp", layout=layout)
        frame.sample_rate, frame.pts = rate, first
        container.mux(stream.encode(frame))


def write_audio(path: str | Path, signal: np.ndarray, rate: int, *, codec: str | None = None,
                container_format: str | None = None, options: dict | None = None) -> Path:
    """Encode ``signal`` (float, (n,) or (n, channels)) at ``rate`` into a real file at ``path``."""
    import av

    path = Path(path)
    default_codec, default_format = AUDIO_FORMATS[path.suffix.lower()]
    codec, container_format = codec or default_codec, container_format or default_format
    if codec == "libopus" and rate not in (8000, 12000, 16000, 24000, 48000):
        raise ValueError("Opus needs 8, 12, 16, 24 or 48 kHz")
    with av.open(str(path), "w", format=container_format, options=options or {}) as container:
        planar, layout = _layout(signal)
        stream = container.add_stream(codec, rate=rate, layout=layout)
        _encode_audio(container, stream, planar, layout, rate, 0, planar.shape[1])
        container.mux(stream.encode(None))
    return path


def write_video(path: str | Path, seconds: float, audio: np.ndarray | None = None, rate: int = 48000,
                fps: int = 10, size: tuple[int, int] = (64, 48)) -> Path:
    """An MP4 with MPEG-4 video (a grey ramp, ``size`` pixels) and, if ``audio`` is given, an AAC track."""
    import av

    path = Path(path)
    width, height = size
    with av.open(str(path), "w", format="mp4") as container:
        video = container.add_stream("mpeg4", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        track = planar = layout = None
        if audio is not None:
            planar, layout = _layout(audio)
            track = container.add_stream("aac", rate=rate, layout=layout)
        frames = int(round(seconds * fps))
        for index in range(frames):
            image = np.full((height, width, 3), (index * 8) % 256, dtype=np.uint8)
            picture = av.VideoFrame.from_ndarray(image, format="rgb24")
            picture.pts = index
            container.mux(video.encode(picture))
            if track is not None:  # interleave: the audio of this video frame
                start, stop = index * rate // fps, min((index + 1) * rate // fps, planar.shape[1])
                if start < stop:
                    _encode_audio(container, track, planar, layout, rate, start, stop)
        container.mux(video.encode(None))
        if track is not None:
            container.mux(track.encode(None))
    return path


def cut(path: str | Path, fraction: float, suffix: str = "cut") -> Path:
    """A copy of ``path`` keeping only the first ``fraction`` of its bytes (an interrupted copy)."""
    path = Path(path)
    data = path.read_bytes()
    out = path.with_name(f"{path.stem}-{suffix}{path.suffix}")
    out.write_bytes(data[:int(len(data) * fraction)])
    return out


def dominant_frequency(audio: np.ndarray, rate: int = 16000) -> float:
    """The frequency of the strongest FFT bin, in Hz."""
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    return float(np.fft.rfftfreq(len(audio), 1 / rate)[int(np.argmax(spectrum))])
