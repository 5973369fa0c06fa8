"""The benchmark's input files: speech-like talk with pauses, as MP3s.

The end-to-end file is what a user typically has (a 44.1 kHz stereo MP3); the
long scaling files are lossless 16 kHz mono voice recordings (FLAC: twenty times
faster to write than MP3). The app decodes both to the same 16 kHz mono.

The signal is :func:`tests.media.speechlike` (formant-filtered syllables that
Silero VAD takes for speech) in bursts of 1.5-6 s between pauses of 0.3-1 s of
quiet room tone, so voice activity detection finds pauses to cut at, as in a
real recording. Long files repeat a 2-minute take (the encoder cannot tell;
it keeps generation fast and the files deterministic). Encoded in chunks, so
an hour never sits in memory as one array.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

RATE = 44100
TAKE_SECONDS = 120.0


def talk(seconds: float, rate: int = RATE, seed: int = 5) -> np.ndarray:
    """Mono speech-like bursts between pauses, ``seconds`` long."""
    from tests import media

    rng = np.random.default_rng(seed)
    parts, total = [], 0.0
    while total < seconds:
        burst, pause = float(rng.uniform(1.5, 6.0)), float(rng.uniform(0.3, 1.0))
        parts.append(media.speechlike(burst, rate=rate, seed=int(rng.integers(1 << 30)),
                                      f0=float(rng.uniform(100, 200))))
        parts.append(media.room_tone(pause, rate=rate, seed=len(parts)))
        total += burst + pause
    return np.concatenate(parts)[: int(seconds * rate)].astype(np.float32)


CODECS = {".mp3": ("libmp3lame", "mp3"), ".flac": ("flac", "flac")}


def write_talk(path: Path, seconds: float, take: np.ndarray | None = None, rate: int = RATE,
               channels: int = 2) -> Path:
    """``seconds`` of talk (the 2-minute ``take``, at ``rate``, repeated) as an MP3 or FLAC at ``path``.

    Two channels: the second is the first at 0.8 of the level, as a stereo recording of one voice.
    """
    import av

    path = Path(path)
    if path.exists():
        return path
    take = talk(min(seconds, TAKE_SECONDS), rate) if take is None else take
    planes = np.ascontiguousarray(np.stack([take, 0.8 * take][:channels]), dtype=np.float32)
    layout = "stereo" if channels == 2 else "mono"
    total = int(seconds * rate)
    frame = 1152 * 32  # PyAV re-frames for the encoder
    tmp = path.with_name(path.stem + ".part" + path.suffix)
    codec, container_format = CODECS[path.suffix.lower()]
    with av.open(str(tmp), "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=rate, layout=layout)
        done = 0
        while done < total:
            offset = done % planes.shape[1]
            n = min(frame, planes.shape[1] - offset, total - done)
            chunk = av.AudioFrame.from_ndarray(np.ascontiguousarray(planes[:, offset:offset + n]), format="fltp",
                                               layout=layout)
            chunk.sample_rate, chunk.pts = rate, done
            container.mux(stream.encode(chunk))
            done += n
        container.mux(stream.encode(None))
    tmp.replace(path)
    return path
