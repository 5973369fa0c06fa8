"""A folder of mixed real media through the CLI: every good file saved, each bad one explained."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from tests.media import cut, speechlike, write_audio, write_video
from transcribe_studio.transcription.batch import collect_inputs

ROOT = Path(__file__).resolve().parent.parent
SRT_TIME = re.compile(r"^(\d\d+):(\d\d):(\d\d),(\d\d\d) --> (\d\d+):(\d\d):(\d\d),(\d\d\d)$")


def seconds(h, m, s, ms):
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def srt_cues(text):
    cues = []
    for line in text.splitlines():
        match = SRT_TIME.match(line)
        if match:
            g = match.groups()
            cues.append((seconds(*g[:4]), seconds(*g[4:])))
    return cues


def stereo(seconds_, rate, seed):
    mono = np.interp(np.arange(int(seconds_ * rate)) * 16000 / rate, np.arange(int(seconds_ * 16000)),
                     speechlike(seconds_, seed=seed))
    return np.stack([mono, 0.6 * mono], axis=1)


def make_folder(root: Path) -> Path:
    folder = root / "recordings"
    (folder / "day2").mkdir(parents=True)
    write_audio(folder / "phone call.mp3", stereo(6, 44100, 1), 44100)
    write_audio(folder / "day2" / "phone call.mp3", stereo(4, 44100, 2), 44100)
    write_audio(folder / "memo.m4a", stereo(5, 48000, 3), 48000)
    write_video(folder / "meeting.mp4", 4, audio=stereo(4, 48000, 4))
    write_video(folder / "screen capture.mp4", 3)  # no audio track
    broken = cut(write_audio(root / "podcast.flac", stereo(20, 44100, 5), 44100), 0.3)
    broken.rename(folder / "podcast.flac")
    (folder / "notes.txt").write_text("not media: ignored by the folder scan")
    outside = write_audio(root / "private.wav", stereo(2, 16000, 6), 16000)
    os.symlink(outside, folder / "link-to-private.wav")  # leads out of the folder: not read
    return folder


def test_a_folder_of_mixed_recordings(tmp_path, tiny_parakeet, canary_cache):
    folder = make_folder(tmp_path)
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(PARAKEET_NEMO=str(tiny_parakeet), HF_HUB_CACHE=str(canary_cache), HF_HUB_OFFLINE="1",
               HF_HOME=str(tmp_path / "hf"), STUDIO_LOG_FILE=str(tmp_path / "log"),
               STUDIO_OUTPUT_DIR=str(tmp_path / "outputs"), PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-m", "transcribe_studio", str(folder), "--model", "parakeet",
                             "--format", "srt,json,txt", "--output-dir", str(out), "--quiet", "--device", "cpu"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr
    assert "4 of 6 file(s) transcribed" in result.stderr
    failed = {line.split("FAILED", 1)[1].split(":", 1)[0].strip(): line
              for line in result.stderr.splitlines() if "FAILED" in line}
    assert set(failed) == {str(folder / "screen capture.mp4"), str(folder / "podcast.flac")}
    assert "no audio track" in failed[str(folder / "screen capture.mp4")]
    assert "Traceback" not in result.stderr

    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(f"{stem}.{ext}" for stem in ("phone call", "phone call-2", "memo", "meeting")
                           for ext in ("srt", "json", "txt"))
    for srt in out.glob("*.srt"):
        meta = json.loads(srt.with_suffix(".json").read_text())
        cues = srt_cues(srt.read_text())
        assert cues, srt
        assert all(0 <= a < b <= meta["duration"] + 1e-3 for a, b in cues)
        assert all(x[1] <= y[0] for x, y in zip(cues, cues[1:]))
        assert meta["metadata"]["model"] == "Parakeet-TDT-0.6B-v2"
        assert meta["metadata"]["model_source"] == {"file": str(tiny_parakeet)}
    assert not list(out.glob("*private*")) and not list(out.glob(".*tmp"))


def test_the_folder_scan_stays_inside_the_folder(tmp_path):
    folder = make_folder(tmp_path)
    found = [p.relative_to(folder).as_posix() for p in collect_inputs([folder])]
    assert found == ["meeting.mp4", "memo.m4a", "phone call.mp3", "podcast.flac", "screen capture.mp4",
                     "day2/phone call.mp3"]  # a folder's own files first, then its subfolders
