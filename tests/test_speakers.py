"""Who said what: the tiny real Sortformer through the app, speaker assignment on known times, names in every
export, and the CLI's --speakers (labelled when it can, unlabelled with a note when the diarizer cannot load)."""

import csv
import dataclasses
import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import loaded, tone
from tests.media import speechlike
from tests.test_app import served_app  # noqa: F401 - a fixture
from tests.test_cli import cli_env, run_cli
from tests.tiny_models import build_tiny_diarizer
from transcribe_studio.models import ModelCache, ModelState, diarizers, transcribers
from transcribe_studio.models.diarizer import parse_rows
from transcribe_studio.models.spec import SpeakerTurn
from transcribe_studio.outputs.history import HistoryStore
from transcribe_studio.outputs.writers import FORMATS, write_outputs
from transcribe_studio.transcription.speakers import NO_SPEECH_NOTE, PER_SEGMENT_NOTE, assign_speakers, label_transcript
from transcribe_studio.transcription.transcript import Segment, Transcript, Word

# --- the tiny real model through the app ------------------------------------------------


def test_the_diarizer_is_a_model_but_not_a_transcriber(settings):
    assert [spec.key for spec in diarizers()] == ["diarizer"]
    assert "diarizer" not in [spec.key for spec in transcribers()]
    rows = ModelCache(settings).snapshot()
    assert "diarizer" in [row.spec.key for row in rows]  # shown in the Models tab


@pytest.mark.parametrize("streaming", [True, False])
def test_the_tiny_sortformer_restores_and_diarizes_through_the_app(tmp_path, settings, streaming):
    path = build_tiny_diarizer(tmp_path / "diarizer.nemo", streaming=streaming)
    cache = ModelCache(dataclasses.replace(settings, diarizer_path=path))
    model = loaded(cache, "diarizer")
    assert type(model).__name__ == "SortformerEncLabelModel"
    assert model.sortformer_modules.chunk_len == 340  # the model card's streaming setting
    words = [Word(0.2 + 0.5 * i, 0.6 + 0.5 * i, f"w{i}") for i in range(6)]
    transcript = Transcript("w0 w1 w2 w3 w4 w5", [Segment(0.2, 3.1, "w0 w1 w2 w3 w4 w5")], words, duration=4.0)
    calls = []
    real = type(model).diarize

    def spy(self, *args, **kwargs):  # calls through to NeMo's own diarize
        calls.append(kwargs)
        return real(self, *args, **kwargs)

    type(model).diarize = spy
    try:
        labelled, error = label_transcript(cache, transcript, tone(4.0))
    finally:
        type(model).diarize = real
    assert error is None and calls and calls[0]["sample_rate"] == 16000
    assert labelled.has_speakers and all(w.speaker and w.speaker.startswith("Speaker ") for w in labelled.words)
    assert labelled.segments[0].speaker == "Speaker 1"


@pytest.mark.parametrize("pad_to", [0, 16])  # the tiny model's, and the published model's default
def test_features_made_in_pieces_are_the_whole_files(settings, tiny_diarizer, pad_to):
    import torch

    from transcribe_studio.models.diarizer import _features_in_pieces

    model = loaded(ModelCache(dataclasses.replace(settings, diarizer_path=tiny_diarizer)), "diarizer")
    featurizer = model.preprocessor.featurizer
    featurizer.pad_to = pad_to
    whole = type(featurizer).forward.__get__(featurizer)  # NeMo's own, on the whole recording
    calls = []

    def counted(x, seq_len, linear_spec=False):
        calls.append(x.shape[1])
        return whole(x, seq_len, linear_spec)

    audio = torch.from_numpy(speechlike(70.3, seed=3))[None]
    length = torch.tensor([audio.shape[1]])
    with torch.inference_mode():
        pieces, pieces_len = _features_in_pieces(featurizer, counted, piece_seconds=20.0)(audio, length)
        expected, expected_len = whole(audio, length)
    assert len(calls) == 4 and max(calls) < 22 * 16000  # four pieces of 20 s (and margins), never the whole
    assert torch.equal(pieces_len, expected_len) and pieces.shape == expected.shape
    torch.testing.assert_close(pieces, expected, atol=1e-4, rtol=1e-4)


def test_a_long_recording_diarizes_the_same_with_features_in_pieces(settings, tiny_diarizer):
    from transcribe_studio.models import diarizer
    from transcribe_studio.progress import no_progress

    model = loaded(ModelCache(dataclasses.replace(settings, diarizer_path=tiny_diarizer)), "diarizer")
    audio = np.concatenate([speechlike(50.0, seed=1, f0=110.0), speechlike(50.0, seed=2, f0=210.0),
                            speechlike(50.0, seed=3, f0=110.0)])  # 150 s: three pieces
    in_pieces = diarizer.diarize(model, audio, settings, no_progress)
    del model.preprocessor.featurizer.forward  # NeMo's own feature extraction over the whole recording
    assert diarizer.diarize(model, audio, settings, no_progress) == in_pieces


# --- speakers laid onto known word times ------------------------------------------------


def two_speaker_transcript() -> Transcript:
    words = [Word(0.0, 0.4, "Hello"), Word(0.5, 0.9, "there."), Word(2.1, 2.5, "Hi,"), Word(2.6, 3.0, "Sam."),
             Word(3.4, 3.8, "Bye.")]
    segments = [Segment(0.0, 3.0, "Hello there. Hi, Sam."), Segment(3.4, 3.8, "Bye.")]
    return Transcript("Hello there. Hi, Sam. Bye.", segments, words, duration=4.0)


# Slot 2 speaks first, so it becomes "Speaker 1"; slot 0 answers; a short overlap at 2.0-2.2.
TURNS = parse_rows(["0.000 2.200 speaker_2", "2.000 3.100 speaker_0", "3.300 3.900 speaker_2"])


def test_rows_parse_into_turns():
    assert TURNS[0] == SpeakerTurn(0.0, 2.2, 2) and [t.slot for t in TURNS] == [2, 0, 2]


def test_each_word_goes_to_the_most_active_speaker_and_segments_split_where_it_changes():
    labelled = assign_speakers(two_speaker_transcript(), TURNS)
    assert [(w.text, w.speaker) for w in labelled.words] == [
        ("Hello", "Speaker 1"), ("there.", "Speaker 1"), ("Hi,", "Speaker 2"), ("Sam.", "Speaker 2"),
        ("Bye.", "Speaker 1")]
    assert [(s.start, s.end, s.text, s.speaker) for s in labelled.segments] == [
        (0.0, 0.9, "Hello there.", "Speaker 1"), (2.1, 3.0, "Hi, Sam.", "Speaker 2"), (3.4, 3.8, "Bye.", "Speaker 1")]
    assert labelled.notes == []


def test_a_word_between_turns_goes_to_the_nearest_speaker_and_one_speaker_is_speaker_1():
    words = [Word(0.0, 0.4, "one"), Word(5.0, 5.4, "two")]
    transcript = Transcript("one two", [Segment(0.0, 5.4, "one two")], words, duration=6.0)
    labelled = assign_speakers(transcript, [SpeakerTurn(0.0, 1.0, 3), SpeakerTurn(4.0, 4.5, 3)])
    assert [w.speaker for w in labelled.words] == ["Speaker 1", "Speaker 1"]
    assert [(s.text, s.speaker) for s in labelled.segments] == [("one two", "Speaker 1")]


def test_without_word_times_speakers_go_per_segment_and_the_notes_say_so():
    segments = [Segment(0.0, 2.0, "first window"), Segment(2.0, 4.0, "second window")]
    transcript = Transcript("first window second window", segments, duration=4.0)  # Canary: no words
    labelled = assign_speakers(transcript, [SpeakerTurn(0.0, 1.5, 1), SpeakerTurn(1.5, 4.0, 0)])
    assert [s.speaker for s in labelled.segments] == ["Speaker 1", "Speaker 2"]
    assert PER_SEGMENT_NOTE in labelled.notes


def test_silence_leaves_the_transcript_unlabelled_with_a_note():
    labelled = assign_speakers(Transcript("", duration=3.0), [])
    assert not labelled.has_speakers and labelled.notes == [NO_SPEECH_NOTE]


# --- names, in every export and in History -----------------------------------------------


def rendered(paths) -> dict:
    """Each file's text (a DOCX's paragraphs, one a line)."""
    from tests.test_writers import docx_text

    return {p.suffix[1:]: docx_text(p) if p.suffix == ".docx" else p.read_text(encoding="utf-8") for p in paths}


def test_a_name_given_to_a_speaker_flows_into_every_writer_and_history(tmp_path):
    transcript = assign_speakers(two_speaker_transcript(), TURNS)
    transcript.rename_speakers({"Speaker 2": "Dana & <Co>"})
    text = rendered(write_outputs(transcript, "talk.wav", tmp_path, FORMATS))
    assert text["txt"] == "Speaker 1: Hello there.\n\nDana & <Co>: Hi, Sam.\n\nSpeaker 1: Bye.\n"
    assert "\nDana & <Co>: Hi, Sam.\n" in text["srt"] and "\nSpeaker 1: Hello there.\n" in text["srt"]
    assert "\n<v Dana &amp; &lt;Co&gt;>Hi, Sam.\n" in text["vtt"] and "<v Speaker 1>Bye." in text["vtt"]
    data = json.loads(text["json"])
    assert [s["speaker"] for s in data["segments"]] == ["Speaker 1", "Dana & <Co>", "Speaker 1"]
    assert [w["speaker"] for w in data["words"]][2:4] == ["Dana & <Co>"] * 2
    assert data["speaker_names"] == {"Speaker 2": "Dana & <Co>"}
    rows = list(csv.reader(io.StringIO(text["csv"], newline="")))
    assert rows[0] == ["start", "end", "speaker", "text"] and rows[2][2:] == ["Dana & <Co>", "Hi, Sam."]
    assert "**Dana & \\<Co\\>:** Hi, Sam." in text["md"] and "Dana & <Co>: Hi, Sam." in text["docx"]

    store = HistoryStore(tmp_path / "history")
    folder = store.open_entry("talk.wav")
    write_outputs(assign_speakers(two_speaker_transcript(), TURNS), "talk.wav", folder, FORMATS)
    entry_id = store.finish(folder)
    store.rename_speakers(entry_id, {"Speaker 1": "Ana"})
    again, _, _ = store.load(entry_id)
    assert [s.speaker for s in again.segments] == ["Speaker 1", "Speaker 2", "Speaker 1"]  # labels restored
    assert again.speaker_names == {"Speaker 1": "Ana"}
    assert (folder / "talk.txt").read_text().startswith("Ana: Hello there.")
    assert "<v Ana>Bye." in (folder / "talk.vtt").read_text()
    assert "Ana: Bye." in rendered([folder / "talk.docx"])["docx"] and "**Ana:** Bye." in (folder / "talk.md").read_text()


def test_two_speakers_cannot_share_a_name():
    transcript = assign_speakers(two_speaker_transcript(), TURNS)
    with pytest.raises(ValueError, match="share"):
        transcript.rename_speakers({"Speaker 1": "Sam", "Speaker 2": "Sam"})
    with pytest.raises(ValueError, match='no speaker "Speaker 7"'):
        transcript.rename_speakers({"Speaker 7": "Sam"})


def test_a_speaker_is_renamed_by_its_label_or_its_name_now_in_any_case():
    transcript = assign_speakers(two_speaker_transcript(), TURNS)
    transcript.rename_speakers({"speaker 2": "Dana"})
    transcript.rename_speakers({"DANA": "Lee", "Speaker 1": "Sam"})
    assert transcript.speaker_names == {"Speaker 2": "Lee", "Speaker 1": "Sam"}
    transcript.rename_speakers({"lee": ""})  # an empty name gives the label back
    assert transcript.speaker_names == {"Speaker 1": "Sam"}


def test_unknown_speakers_are_each_named_with_the_speakers_there_are_and_nothing_changes():
    transcript = assign_speakers(two_speaker_transcript(), TURNS)
    transcript.rename_speakers({"Speaker 2": "Dana"})
    with pytest.raises(ValueError) as refused:
        transcript.rename_speakers({"Speaker 1": "Sam", "Speaker 9": "Kim", "Bob": "Rob"})
    assert str(refused.value) == ('This transcript has no speakers "Speaker 9", "Bob", so nothing was renamed. '
                                  '"Speaker 1" was fine. Its speakers are Speaker 1, Speaker 2 (now Dana).')
    assert transcript.speaker_names == {"Speaker 2": "Dana"}


def test_a_refused_rename_through_the_app_says_it_is_a_rename_and_which_speakers_there_are(served_app):  # noqa: F811
    """Called as the page calls it: the message is about renaming (not "the edit could not be saved"), names the
    unknown label, says the others were fine and lists the speakers; no file of the entry changes."""
    from gradio_client import Client

    app, url = served_app
    entry_id, folder = add_speaker_entry(app.studio_history)
    before = file_hashes(folder)
    client = Client(url, verbose=False)
    _, _, message = client.predict(entry_id, "Speaker 1 = Sam, Speaker 3 = Kim", api_name="/rename_speakers")
    assert message.startswith("**The speakers could not be renamed.** This transcript has no speaker "
                              '"Speaker 3", so nothing was renamed. "Speaker 1" was fine. Its speakers are '
                              "Speaker 1, Speaker 2."), message
    assert "edit could not be saved" not in message and "What to do" in message
    assert file_hashes(folder) == before
    _, _, message = client.predict(entry_id, "Speaker 1 = Sam", api_name="/rename_speakers")
    assert message.startswith("Speakers renamed") and file_hashes(folder) != before


# --- the command line ------------------------------------------------------------------


def test_the_cli_with_speakers_writes_labelled_subtitles(tmp_path, tiny_parakeet, tiny_diarizer, canary_cache,
                                                         wav_file):
    out = tmp_path / "out"
    env = cli_env(tmp_path, tiny_parakeet, canary_cache, DIARIZER_NEMO=str(tiny_diarizer))
    result = run_cli(env, str(wav_file), "--speakers", "--output-dir", str(out), "--format", "srt,vtt,json")
    assert result.returncode == 0, result.stderr
    text = rendered(sorted(out.iterdir()))
    assert "Speaker 1: " in text["srt"] and "<v Speaker 1>" in text["vtt"]
    data = json.loads(text["json"])
    assert data["segments"] and all(s["speaker"].startswith("Speaker ") for s in data["segments"])
    assert data["metadata"]["speakers"]["model"].startswith("Streaming Sortformer")


@pytest.mark.parametrize("damage", ["missing", "cut short"])
def test_a_missing_or_damaged_diarizer_gives_the_classified_error_and_an_unlabelled_transcript(
        tmp_path, tiny_parakeet, tiny_diarizer, canary_cache, wav_file, damage):
    broken = tmp_path / "diarizer.nemo"
    if damage == "cut short":
        broken.write_bytes(tiny_diarizer.read_bytes()[:50_000])
    out = tmp_path / "out"
    env = cli_env(tmp_path, tiny_parakeet, canary_cache, DIARIZER_NEMO=str(broken))
    result = run_cli(env, str(wav_file), "--speakers", "--output-dir", str(out), "--format", "srt,json")
    assert result.returncode == 0, result.stderr  # the file still succeeds
    assert "without speaker labels: Model file missing or damaged" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    data = json.loads((out / "speech.json").read_text())
    assert data["segments"] and not any("speaker" in s for s in data["segments"])
    assert any(n.startswith("No speaker labels: Model file missing or damaged") and str(broken) in n
               for n in data["notes"])
    assert "Speaker" not in (out / "speech.srt").read_text()


def test_the_help_states_the_four_speaker_limit():
    from transcribe_studio.commands.cli import build_parser

    assert "at most 4 speakers" in " ".join(build_parser().format_help().split())


def test_a_failed_diarizer_load_shows_in_the_models_tab(settings, tmp_path):
    cache = ModelCache(dataclasses.replace(settings, diarizer_path=tmp_path / "absent.nemo"))
    transcript, error = label_transcript(cache, Transcript("x", [Segment(0, 1, "x")], duration=1.0),
                                         np.zeros(16000, np.float32))
    assert error is not None and error.title == "Model file missing or damaged"
    assert cache.status("diarizer").state is ModelState.FAILED and not transcript.has_speakers


def test_a_refused_rename_changes_no_file_of_the_entry(tmp_path):
    """A name one format cannot hold (a control character in a Word document) is refused before anything is
    written: every file of the entry keeps its bytes."""
    store = HistoryStore(tmp_path / "history")
    entry_id, folder = add_speaker_entry(store)
    before = file_hashes(folder)
    with pytest.raises(Exception):  # noqa: B017 - refused by whichever writer cannot hold it
        store.rename_speakers(entry_id, {"Speaker 1": "Dana\u0001X"})
    assert file_hashes(folder) == before


def add_speaker_entry(store: HistoryStore) -> tuple[str, Path]:
    """A History entry of the two-speaker transcript in every format: (its id, its folder)."""
    folder = store.open_entry("talk.wav")
    write_outputs(assign_speakers(two_speaker_transcript(), TURNS), "talk.wav", folder, FORMATS)
    return store.finish(folder), folder


def file_hashes(folder: Path) -> dict[str, str]:
    """Each file of the folder's SHA-256, by name."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}
