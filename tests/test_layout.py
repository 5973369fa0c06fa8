"""The layout holds: everything about a model lives under models/, the folders follow the data path, and the
package's public face is what the README's example uses."""

import ast
import re
import sys
from pathlib import Path

import pytest

from transcribe_studio.models import all_specs

PACKAGE = Path(__file__).resolve().parents[1] / "transcribe_studio"
# The model families the built-in specs are, as people write them (a label's words are checked too).
FAMILIES = ("parakeet", "canary", "qwen", "sortformer")


def _outside_models() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "models" not in p.relative_to(PACKAGE).parts[:1])


def _model_facts() -> set[str]:
    """What only a model's spec may say: its label, pins, files, repositories, variables and flags."""
    facts = {spec.label for spec in all_specs()}
    for spec in all_specs():
        for option in spec.options:
            facts |= {option.env, option.flag}
            if isinstance(option.default, str) and len(option.default) > 3:
                facts.add(option.default)  # a repository, a pinned commit, a file name in a repository
            elif isinstance(option.default, Path):
                facts.add(option.default.name)  # the model file's name in local_models/
    return facts


def _spec_modules() -> set[str]:
    """The modules that define a registered model (only models/ may import them by name)."""
    return {sys.modules[spec.load.__module__].__name__ for spec in all_specs()}


def model_mentions(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    found = [f"{path.name}: {word}" for word in FAMILIES if re.search(rf"(?i)\b{word}", text)]
    found += [f"{path.name}: {fact}" for fact in _model_facts() if fact in text]
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom):
            names = [f"{node.module or ''}.{alias.name}" for alias in node.names] + [node.module or ""]
            found += [f"{path.name}: imports {name}" for name in names
                      if any(("." + name).endswith(module.split("transcribe_studio")[-1]) for module in _spec_modules())]
    return found


def test_no_module_outside_models_names_a_model_a_pin_or_a_model_file():
    assert len(_outside_models()) > 30 and _model_facts() and _spec_modules()  # the check checks something
    mentions = [m for path in _outside_models() for m in model_mentions(path)]
    assert not mentions, "model knowledge outside models/ (it belongs in the model's spec):\n" + "\n".join(mentions)


@pytest.mark.parametrize("planted", ['"""Uses Parakeet."""', 'LIMIT = "nvidia/canary-qwen-2.5b"',
                                     "FLAG = '--parakeet-pass-seconds'", "from .models.diarizer import LABEL",
                                     "NAME = 'diarizer.nemo'"])
def test_the_check_catches_a_planted_mention(tmp_path, planted):
    module = tmp_path / "planted.py"
    module.write_text(planted + "\n")
    assert model_mentions(module)


def test_the_folders_read_as_the_data_path():
    folders = sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists())
    assert folders == ["app", "archive", "commands", "evaluate", "live", "media", "models", "outputs",
                       "transcription"]
    flow = ("media", "models", "transcription", "outputs", "app")
    doc = sys.modules["transcribe_studio"].__doc__
    assert [doc.index(f":mod:`.{name}`") for name in flow] == sorted(doc.index(f":mod:`.{name}`") for name in flow)


def _imports_of(folder: str) -> set[str]:
    """The package's top-level parts that the modules of ``folder`` import (relative or absolute)."""
    found = set()
    for path in (PACKAGE / folder).rglob("*.py"):
        if path.name == "__main__.py":  # a launcher (``python -m``) hands over to its command, as the package's does
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level >= 2 and node.module:
                found.add(node.module.split(".")[0])
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("transcribe_studio."):
                found.add(node.module.split(".")[1])
    return found


@pytest.mark.parametrize("folder, never", [
    ("media", {"models", "transcription", "outputs", "app", "commands", "archive", "evaluate"}),
    ("models", {"transcription", "outputs", "app", "commands", "archive", "evaluate"}),
    ("transcription", {"app", "commands", "archive", "evaluate"}),
    ("outputs", {"app", "commands", "archive", "evaluate"}),
    ("archive", {"app", "commands", "evaluate"}),
    ("evaluate", {"app", "commands", "archive"}),
    ("live", {"transcription", "outputs", "app", "commands", "archive", "evaluate"}),
])
def test_data_flows_one_way(folder, never):
    assert not _imports_of(folder) & never


def test_the_public_face_transcribes_a_file_as_the_readme_shows(settings, wav_file, tmp_path):
    import transcribe_studio as studio

    cache = studio.ModelCache(settings)
    transcript = studio.transcribe(cache, "parakeet", studio.decode_audio(wav_file))
    assert isinstance(transcript, studio.Transcript) and transcript.duration > 2.9
    saved = studio.write_outputs(transcript, "speech.wav", tmp_path, ["json", "srt"])
    assert studio.read_transcript(next(p for p in saved if p.suffix == ".json")).text == transcript.text
    result = studio.transcribe_file(cache, "parakeet", wav_file, ["txt"], output_dir=tmp_path / "out")
    assert result.ok and result.transcript.text == transcript.text
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    example = re.search(r"```python\n(from transcribe_studio import .*?)```", readme, re.S).group(1)
    assert all(name in studio.__all__ for name in re.search(r"import (.*)", example).group(1).split(", "))
