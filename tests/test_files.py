"""files.py: every file the app creates is written whole or not at all, and no temporary file stays."""

import os

import pytest

from transcribe_studio import files
from transcribe_studio.models import hub_cache


def test_atomic_write_text_replaces_whole_files_byte_for_byte(tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("old")
    assert files.atomic_write_text(target, "été\nline two\r\n") == target
    assert target.read_bytes() == "été\nline two\r\n".encode()  # no newline translation
    assert os.listdir(tmp_path) == ["notes.txt"]


@pytest.mark.parametrize("where", ["fill", "replace"])
def test_a_failed_write_or_copy_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch, where):
    target, source = tmp_path / "out.bin", tmp_path / "in.bin"
    target.write_bytes(b"old")
    source.write_bytes(b"new" * 1000)

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.shutil if where == "fill" else files.os, "copyfileobj" if where == "fill"
                        else "replace", broken)
    with pytest.raises(OSError):
        files.atomic_copy(source, target)
    if where == "replace":
        with pytest.raises(OSError):
            files.atomic_write_text(target, "new")
    assert sorted(os.listdir(tmp_path)) == ["in.bin", "out.bin"] and target.read_bytes() == b"old"


def test_an_interrupted_overlay_copy_leaves_no_temp_and_the_next_one_completes(settings, monkeypatch):
    snapshot = hub_cache.canary_snapshot(settings)
    targets = [snapshot / name for name in hub_cache.QWEN_TOKENIZER_FILES] + [snapshot / hub_cache.LLM_BACKBONE_CONFIG]
    for target in targets:
        target.unlink(missing_ok=True)
    real, copies = files.shutil.copyfileobj, []

    def interrupted_second_copy(src, dst, *args):
        copies.append(src)
        if len(copies) == 2:
            dst.write(b"half")
            raise KeyboardInterrupt
        return real(src, dst, *args)

    monkeypatch.setattr(files.shutil, "copyfileobj", interrupted_second_copy)
    with pytest.raises(KeyboardInterrupt):
        hub_cache.install_overlay(settings)
    leftovers = [p for p in snapshot.rglob("*") if p.name.endswith((".tmp", ".part"))]
    assert leftovers == [] and sum(t.exists() for t in targets) == 1

    monkeypatch.setattr(files.shutil, "copyfileobj", real)
    hub_cache.install_overlay(settings)
    assert all(t.is_file() and t.stat().st_size > 0 for t in targets)
    assert [p for p in snapshot.rglob("*") if p.name.endswith((".tmp", ".part"))] == []
