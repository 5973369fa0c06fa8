"""``python -m transcribe_studio.evaluate``: error rates computed with jiwer after Whisper's normalisers, the pairs
found (and what is left out, with why), and a real run of the tiny Parakeet over recordings with references."""

from __future__ import annotations

import csv
import json

import pytest

from tests.media import speechlike, write_audio
from transcribe_studio.commands import evaluate as evaluate_cli
from transcribe_studio.evaluate import differences, errors, find_pairs, normalised


def test_error_rates_count_known_edits_after_normalising():
    reference = normalised("The cat sat on the mat.", "en")
    assert errors(reference, reference).wer == 0.0 and errors(reference, reference).cer == 0.0
    assert errors(reference, normalised("the cat sat on mat", "en")).wer == pytest.approx(1 / 6)  # one deleted
    edited = errors(reference, normalised("the dog sat on the mat today", "en"))
    assert (edited.substitutions, edited.insertions, edited.deletions) == (1, 1, 0) and edited.wer == pytest.approx(2 / 6)
    assert errors(normalised("Mr. Smith didn't go.", "en"), normalised("mister smith did not go", "en")).wer == 0.0
    assert errors(normalised("Grüße, Łódź!", "pl"), normalised("grüße łódź", "pl")).wer == 0.0
    assert errors(reference, "").wer == 1.0
    assert differences("the cat sat on the mat", "the cat sit on mat") == "the cat [sat→sit] on [-the] mat"
    long = " ".join(f"w{i}" for i in range(100))
    shown = differences(long, long.replace("w50", "x50"))  # one error in 100 words: a few words around it
    assert shown == "… w47 w48 w49 [w50→x50] w51 w52 w53 …"
    many = differences(long, " ".join(f"x{i}" if i % 2 else f"w{i}" for i in range(100)))
    assert many.count("→") == 12 and many.endswith("… and 38 more differences")
    assert differences("a b", "a b " + " ".join(["z"] * 30)) == "a b [+z z z z z z z z …(22 more words)]"
    total = errors("a b", "a c") + errors("d e f g", "d e f g")
    assert total.words == 6 and total.wer == pytest.approx(1 / 6)  # errors over words, not an average of rates


def test_pairs_from_a_folder_and_a_manifest_say_what_was_left_out(tmp_path):
    for name in ("a", "b", "d"):
        write_audio(tmp_path / f"{name}.wav", speechlike(1.0), 16000)
    (tmp_path / "a.txt").write_text("Hello there.")
    (tmp_path / "c.txt").write_text("no recording")
    (tmp_path / "d.txt").write_text("  \n")
    pairs, left_out = find_pairs(tmp_path)
    assert [(p.audio.name, p.reference) for p in pairs] == [("a.wav", "Hello there.")]
    assert {(path.name, reason.split(":")[0]) for path, reason in left_out} == {
        ("b.wav", "has no reference"), ("d.wav", "its reference is empty"),
        ("c.txt", "is a reference with no recording of the same name")}
    manifest = tmp_path / "test.json"
    manifest.write_text("\n".join([json.dumps({"audio_filepath": "a.wav", "text": "Hello."}), "not json",
                                   json.dumps({"audio_filepath": "gone.wav", "text": "x"}), ""]))
    pairs, left_out = find_pairs(manifest)
    assert [(p.audio, p.reference) for p in pairs] == [(tmp_path / "a.wav", "Hello.")]
    assert [reason.split(" but")[0] for _, reason in left_out] == [
        "line 2 is not a JSON object with audio_filepath and text", "is named on line 3"]
    assert find_pairs(tmp_path / "a.wav")[1][0][1].startswith("is neither a folder")


def test_a_real_run_scores_each_model_file_by_file_and_writes_a_csv(settings, tmp_path, capsys):
    from transcribe_studio import decode_audio
    from transcribe_studio.models import ModelCache
    from transcribe_studio.transcription import engine

    folder = tmp_path / "mine"
    for index, seconds in enumerate((1.5, 2.5)):
        write_audio(folder / f"talk{index}.wav" if folder.exists() else _made(folder) / f"talk{index}.wav",
                    speechlike(seconds, seed=index), 16000)
    heard = engine.transcribe(ModelCache(settings), "parakeet", decode_audio(folder / "talk0.wav")).text
    (folder / "talk0.txt").write_text(heard or "silence")  # the model's own words: no error
    (folder / "talk1.txt").write_text("words the tiny model never says")
    table = tmp_path / "scores.csv"
    argv = [str(folder), "--models", "parakeet", "--csv", str(table), "--parakeet-nemo", str(settings.parakeet_path),
            "--device", "cpu", "--output-dir", str(tmp_path / "out")]
    assert evaluate_cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "| Parakeet-TDT-0.6B-v2 |" in out and "2 of 2" in out and "talk1.wav: " in out
    rows = {row["file"].rsplit("/", 1)[-1]: row for row in csv.DictReader(table.open())}
    assert float(rows["talk0.wav"]["wer"]) == (0.0 if heard else 1.0)
    assert float(rows["talk1.wav"]["wer"]) > 0 and rows["talk1.wav"]["reference_words"] == "6"
    assert evaluate_cli.main(argv[:1] + ["--models", "nothing"] + argv[5:]) == 2
    assert "No model nothing" in capsys.readouterr().err
    assert evaluate_cli.main([str(tmp_path / "out")] + argv[5:]) == 2  # no recording with a reference
    assert "Nothing to measure" in capsys.readouterr().err


def _made(folder):
    folder.mkdir(parents=True)
    return folder


def test_differences_on_a_page_are_marked_and_escaped():
    from transcribe_studio.evaluate.scoring import differences_html

    shown = differences_html("the cat sat on the mat", "the <b>cat</b> sit on mat now")
    assert shown == ("the <del>cat sat</del> <ins>&lt;b&gt;cat&lt;/b&gt; sit</ins> on <del>the mat</del> "
                     "<ins>mat now</ins>")  # jiwer's alignment: neighbouring edits are one substitution


def test_the_compare_tab_pairs_uploads_by_name_and_reports_with_a_csv(shared_cache, tmp_path):
    from transcribe_studio.app import api
    from transcribe_studio.outputs.history import DOWNLOADS, HistoryStore

    uploads = []
    for index, (name, text) in enumerate([("talk.wav", None), ("talk.txt", "We see a cat and you."),
                                          ("lonely.wav", None), ("orphan.txt", "nobody said this"),
                                          ("=notes.pdf", None)]):
        path = tmp_path / f"upload{index}" / name  # a browser's upload: each file in a folder of its own
        path.parent.mkdir()
        if text is None:
            write_audio(path, speechlike(2.0, seed=index), 16000) if name.endswith(".wav") else path.write_bytes(b"%")
        else:
            path.write_text(text, encoding="utf-8")
        uploads.append(path)
    store = HistoryStore(tmp_path / "history")
    found = api.compare_models(shared_cache, store, uploads, ["parakeet"], "en")
    assert "| Parakeet-TDT-0.6B-v2 |" in found.table and "1 of 1" in found.table
    assert "<del>cat</del>" in found.worst and "<ins>man</ins>" in found.worst  # the tiny model's "a man"
    assert "lonely.wav**: has no reference" in found.note and "orphan.txt**: is a reference with no recording" \
        in found.note and "=notes.pdf**: is neither a recording" in found.note
    assert found.csv.parent == store.root / DOWNLOADS
    rows = list(csv.DictReader(found.csv.open(encoding="utf-8")))
    assert [row["model"] for row in rows] == ["parakeet"] and rows[0]["reference"] == "we see a cat and you"
    assert rows[0]["file"] == "talk.wav"  # by name: the upload folders are the app's
    nothing = api.compare_models(shared_cache, store, uploads[2:4], ["parakeet"], "en")
    assert nothing.csv is None and nothing.note.startswith("Nothing to measure: no recording with its .txt")
