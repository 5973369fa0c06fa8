"""What to measure against: each recording with the text a person wrote for it (its reference).

Either a folder, where ``talk.wav`` is measured against ``talk.txt`` beside it, or a NeMo manifest (one JSON
object a line with ``audio_filepath`` and ``text``; relative paths are relative to the manifest). Whatever cannot
be measured is left out with the reason: a recording without a reference, a reference without a recording, an
empty reference, a manifest line that is not JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..media import MEDIA_EXTENSIONS
from ..transcription.batch import collect_inputs

MANIFEST_EXTENSIONS = (".json", ".jsonl")


@dataclass(frozen=True)
class Pair:
    audio: Path
    reference: str


def find_pairs(source: Path) -> tuple[list[Pair], list[tuple[Path, str]]]:
    """The pairs ``source`` (a folder or a manifest) holds, and what was left out, with why."""
    if source.is_dir():
        return _folder_pairs(source)
    if source.suffix.lower() in MANIFEST_EXTENSIONS:
        return _manifest_pairs(source)
    return [], [(source, "is neither a folder of recordings with .txt references nor a NeMo manifest (.json)")]


def pair_files(paths: list[Path]) -> tuple[list[Pair], list[tuple[Path, str]]]:
    """The pairs among loose files (a page's upload, each file in a folder of its own): a recording and the ``.txt``
    of the same name; what was left out, with why."""
    texts = {path.stem: path for path in paths if path.suffix.lower() == ".txt"}
    recordings = [path for path in paths if path.suffix.lower() != ".txt"]
    pairs: list[Pair] = []
    left_out: list[tuple[Path, str]] = []
    for audio in recordings:
        if audio.suffix.lower() not in MEDIA_EXTENSIONS:
            left_out.append((audio, "is neither a recording nor a .txt reference"))
        elif audio.stem not in texts:
            left_out.append((audio, f"has no reference: add {audio.stem}.txt with what is said in it"))
        else:
            _add(pairs, left_out, audio, _read(texts[audio.stem], left_out))
    heard = {audio.stem for audio in recordings}
    left_out += [(text, "is a reference with no recording of the same name")
                 for stem, text in sorted(texts.items()) if stem not in heard]
    return pairs, left_out


def _folder_pairs(folder: Path) -> tuple[list[Pair], list[tuple[Path, str]]]:
    left_out: list[tuple[Path, str]] = []
    recordings = collect_inputs([folder], left_out)
    pairs = []
    for audio in recordings:
        reference = audio.with_suffix(".txt")
        if not reference.is_file():
            left_out.append((audio, f"has no reference: write what is said in it into {reference.name}"))
            continue
        _add(pairs, left_out, audio, _read(reference, left_out))
    stems = {audio.with_suffix("") for audio in recordings}
    left_out += [(text, "is a reference with no recording of the same name")
                 for text in sorted(folder.rglob("*.txt")) if text.with_suffix("") not in stems]
    return pairs, left_out


def _read(reference: Path, left_out: list) -> str | None:
    try:
        return reference.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        left_out.append((reference, f"cannot be read as UTF-8 text ({exc})"))
        return None


def _add(pairs: list[Pair], left_out: list, audio: Path, reference: str | None) -> None:
    if reference is None:
        return
    if not reference.strip():
        left_out.append((audio, "its reference is empty"))
        return
    pairs.append(Pair(audio, reference.strip()))


def _manifest_pairs(manifest: Path) -> tuple[list[Pair], list[tuple[Path, str]]]:
    pairs: list[Pair] = []
    left_out: list[tuple[Path, str]] = []
    try:
        lines = manifest.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        return [], [(manifest, f"cannot be read ({exc})")]
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            audio, text = Path(entry["audio_filepath"]), str(entry["text"])
        except (ValueError, KeyError, TypeError):
            left_out.append((manifest, f"line {number} is not a JSON object with audio_filepath and text"))
            continue
        audio = audio if audio.is_absolute() else manifest.parent / audio
        if not audio.is_file() or audio.suffix.lower() not in MEDIA_EXTENSIONS:
            left_out.append((audio, f"is named on line {number} but is not an audio or video file there"))
            continue
        _add(pairs, left_out, audio, text)
    return pairs, left_out
