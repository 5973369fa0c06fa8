"""Find speakers afterwards: a History entry saved without speakers is labelled from its kept audio copy by the
tiny real diarizer (through the model cache, as a job), a person's edits kept word for word in every export; each
refusal leaves every file of the entry as it was."""

import dataclasses
import hashlib
import json
import re
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from tests.media import speechlike, write_audio
from tests.test_writers import docx_text
from transcribe_studio.app import api
from transcribe_studio.errors import ModelFileError, SpeakersError
from transcribe_studio.models import ModelCache, diarizers
from transcribe_studio.outputs.history import ORIGINAL, HistoryStore
from transcribe_studio.outputs.writers import FORMATS, write_outputs
from transcribe_studio.settings import Settings
from transcribe_studio.transcription import engine
from transcribe_studio.transcription.batch import speaker_provenance
from transcribe_studio.transcription.speakers import PER_SEGMENT_NOTE, label_transcript
from transcribe_studio.transcription.transcript import Segment, Transcript

PARAKEET = "parakeet"
EDIT = "We saw a man, and Dana."  # the third segment as a person corrected it ("we see a man and you.")
TURNS = [(0.0, 3.0, 100.0), (3.0, 6.0, 260.0), (6.0, 8.0, 100.0)]  # (start, end, pitch): a low and a high voice


def two_voices_audio() -> np.ndarray:
    return np.concatenate([speechlike(end - start, seed=i, f0=f0) for i, (start, end, f0) in enumerate(TURNS)])


@pytest.fixture(scope="module")
def two_voices(tmp_path_factory) -> Path:
    """Eight seconds of two synthetic voices taking turns, as a WAV."""
    return write_audio(tmp_path_factory.mktemp("voices") / "two voices.wav", two_voices_audio(), 16000)


@pytest.fixture(scope="module")
def voice_diarizer(tiny_diarizer, tmp_path_factory) -> Path:
    """The tiny diarizer with its last layer fitted (least squares on its own features of the test's audio) to
    the two voices. Random weights alone hear one speaker throughout; fitted, it hears two, changing now and
    then (the tiny network tells the voices apart only roughly), and always the same for the same audio: what
    these tests need to see segments split and labels carried into every export."""
    import torch

    cache = ModelCache(Settings(diarizer_path=tiny_diarizer, device="cpu",
                                output_dir=tmp_path_factory.mktemp("fitting")))
    spec, audio = diarizers()[0], two_voices_audio()
    with cache.use(spec.key) as model:  # loaded as the app loads it, so the features are those the app gets
        head = model.sortformer_modules.single_hidden_to_spks
        seen = []
        hook = head.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0][0].clone()))
        spec.diarize(model, audio, cache.settings, lambda fraction, note: None)
        hook.remove()
        features = seen[-1].numpy()
        middles = (np.arange(len(features)) + 0.5) * len(audio) / 16000 / len(features)
        high = np.zeros(len(features), bool)
        for start, end, f0 in TURNS:
            high[(middles >= start) & (middles < end)] = f0 > 200
        wanted = np.full((len(features), head.out_features), -6.0)  # logits: slots 2 and 3 never speak
        wanted[~high, 0], wanted[high, 1] = 6.0, 6.0
        inputs = np.concatenate([features, np.ones((len(features), 1))], axis=1)
        fitted = np.linalg.lstsq(inputs, wanted, rcond=None)[0]
        with torch.no_grad():
            head.weight.copy_(torch.from_numpy(fitted[:-1].T.copy()))
            head.bias.copy_(torch.from_numpy(fitted[-1].copy()))
        path = tmp_path_factory.mktemp("voice_diarizer") / "diarizer.nemo"
        model.save_to(str(path))
    return path


@pytest.fixture(scope="module")
def cache(tiny_parakeet, voice_diarizer, tmp_path_factory) -> ModelCache:
    """The tiny Parakeet and the voice diarizer, on the CPU, loaded once for the module."""
    return ModelCache(Settings(parakeet_path=tiny_parakeet, diarizer_path=voice_diarizer, device="cpu",
                               output_dir=tmp_path_factory.mktemp("outputs")))


@pytest.fixture
def store(tmp_path) -> HistoryStore:
    return HistoryStore(tmp_path / "history")


def transcribed(cache: ModelCache, store: HistoryStore, audio: Path, speakers: bool = False) -> str:
    """A History entry of ``audio`` in every format, made by a job (with or without "Who spoke"): its id."""
    result = api.transcribe(cache, store, [audio], model=PARAKEET, formats=FORMATS,
                            options=engine.Options(speakers=speakers))
    assert result.entry, result.message
    return result.entry


def file_hashes(folder: Path) -> dict[str, str]:
    """Each file of the folder's SHA-256 by name, hidden ones (the original) included."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def exports(store: HistoryStore, entry_id: str) -> dict[str, str]:
    """Each export's text by format (a DOCX's paragraphs, one a line)."""
    _, _, entry = store.load(entry_id)
    return {p.suffix[1:]: docx_text(p) if p.suffix == ".docx" else p.read_text(encoding="utf-8")
            for p in entry.files}


def outside(items, start: float, end: float) -> list:
    """The segments or words wholly before ``start`` or wholly after ``end``."""
    return [(i.start, i.end, i.text, i.speaker) for i in items if i.end <= start or i.start >= end]


# --- found, with a person's edit kept ------------------------------------------------------------------------


def test_speakers_found_later_keep_a_persons_edit_and_match_a_job_with_speakers(cache, store, two_voices):
    plain = transcribed(cache, store, two_voices)
    with_speakers, job_metadata, _ = store.load(transcribed(cache, store, two_voices, speakers=True))
    assert len(with_speakers.speaker_labels) == 2  # the fitted diarizer hears both voices
    unedited, _, _ = store.load(plain)
    texts = [s.text for s in unedited.segments]
    assert len(texts) >= 4 and not unedited.has_speakers
    edited = unedited.segments[2]
    store.save_edit(plain, texts[:2] + [EDIT] + texts[3:])
    original = (store.root / plain / ORIGINAL).read_bytes()

    shown, message = api.find_speakers(cache, store, plain)

    assert message == "Speakers found: every download of this transcript was rewritten."
    found, metadata, _ = store.load(plain)
    assert found.speaker_labels == ["Speaker 1", "Speaker 2"]
    assert all(s.speaker for s in found.segments) and all(w.speaker for w in found.words)
    # the edit, word for word: its segment may now be split where the speaker changes, never reworded
    in_edit = [s for s in found.segments if edited.start <= s.start and s.end <= edited.end]
    assert " ".join(s.text for s in in_edit) == EDIT
    assert [w.text for w in found.words if edited.start <= w.start < edited.end] == EDIT.split()
    assert found.text == " ".join(texts[:2] + [EDIT] + texts[3:])
    # elsewhere, what a job with "Who spoke" ticked gives; and each word at a time heard, that time's speaker
    assert outside(found.segments, edited.start, edited.end) == outside(with_speakers.segments, edited.start,
                                                                         edited.end)
    heard = {(w.start, w.end): w.speaker for w in with_speakers.words}
    kept = [w for w in found.words if not w.estimated]  # a corrected word keeps the time of the word it corrects
    assert len(kept) > len(found.words) / 2 and all(heard[w.start, w.end] == w.speaker for w in kept)
    assert metadata["speakers"] == job_metadata["speakers"] == speaker_provenance(cache)
    assert datetime.fromisoformat(metadata["speakers_found"]) and "edited" in metadata
    # every export says who spoke, and holds the edit
    files = exports(store, plain)
    assert sorted(files) == sorted(FORMATS)
    for name, text in files.items():
        assert "Speaker 2" in text and "Dana." in text, name
    assert re.sub(r"(?m)^Speaker \d: ", "", files["txt"]).split() == found.text.split()
    assert files["txt"].startswith("Speaker 1: ") and "\nSpeaker 2: " in files["srt"]
    assert [s["text"] for s in json.loads(files["json"])["segments"]] == [s.text for s in found.segments]
    # the model's own transcript, kept at the edit, stays as the model made it
    assert (store.root / plain / ORIGINAL).read_bytes() == original
    assert not store.original(plain).has_speakers and "Dana." not in store.original(plain).text
    # the page shows the entry with its speakers
    assert shown.entry == plain and shown.speakers == ["Speaker 1", "Speaker 2"]
    assert all(len(row) == 4 for row in shown.segments) and shown.text.startswith("Speaker 1: ")


def test_an_entry_never_edited_gets_no_original_and_a_failed_jobs_note_goes(cache, store, two_voices, tmp_path):
    """Speakers asked for in a job whose diarizer could not load: the entry says so in its notes. Found later, the
    note goes (it would contradict the labels), and no original is made: the text is still the model's."""
    missing = ModelCache(dataclasses.replace(cache.settings, diarizer_path=tmp_path / "absent.nemo"))
    entry_id = transcribed(missing, store, two_voices, speakers=True)
    before, _, _ = store.load(entry_id)
    assert any(n.startswith("No speaker labels:") for n in before.notes)

    _, message = api.find_speakers(cache, store, entry_id)

    assert message.startswith("Speakers found")
    found, _, _ = store.load(entry_id)
    assert found.has_speakers and not any(n.startswith("No speaker labels:") for n in found.notes)
    assert not (store.root / entry_id / ORIGINAL).exists()


def test_without_word_times_each_segment_gets_the_speaker_heard_most(cache, store, two_voices):
    segments = [Segment(0.0, 3.0, "first part"), Segment(3.0, 6.0, "second part"), Segment(6.0, 8.0, "third")]
    folder = store.open_entry(two_voices.name)
    write_outputs(Transcript("first part second part third", segments, duration=8.0), two_voices.name, folder,
                  ["json", "txt"])
    entry_id = store.finish(folder, audio=two_voices)

    api.find_speakers(cache, store, entry_id)

    found, _, _ = store.load(entry_id)
    assert [s.text for s in found.segments] == ["first part", "second part", "third"] and found.words == []
    assert all(s.speaker for s in found.segments) and PER_SEGMENT_NOTE in found.notes


# --- the page's handler and the API's ------------------------------------------------------------------------


def test_the_handlers_answer_as_after_an_edit(cache, two_voices, tmp_path):
    from transcribe_studio.app.handlers import Handlers
    from transcribe_studio.app.histories import Histories

    handlers = Handlers(cache, Histories(tmp_path / "outputs", HistoryStore))
    store = handlers.store(None)
    first, second = transcribed(cache, store, two_voices), transcribed(cache, store, two_voices)

    text, segments, downloads, message, state = handlers.find_speakers({"entry": first})
    assert message.startswith("Speakers found") and text.startswith("Speaker 1: ")
    assert segments["headers"][-1] == "speaker" and state["entry"] == first and downloads
    text, rows, message = handlers.find_speakers_api(second)
    assert message.startswith("Speakers found") and all(len(row) == 4 for row in rows)
    assert handlers.find_speakers({})[3] == "Open a transcript first (transcribe a file, or open one from History)."


# --- refusals: every file as it was ---------------------------------------------------------------------------


def refused(cache: ModelCache, store: HistoryStore, entry_id: str) -> str:
    """find_speakers on an entry that must refuse: its message, once no file of the entry changed."""
    folder = store.root / entry_id
    before = file_hashes(folder)
    shown, message = api.find_speakers(cache, store, entry_id)
    assert file_hashes(folder) == before and shown.entry is None
    assert "Traceback" not in message and "**What to do:**" in message
    return message


def test_an_entry_with_speakers_is_refused_pointing_to_rename(cache, store, two_voices):
    entry_id = transcribed(cache, store, two_voices, speakers=True)
    assert refused(cache, store, entry_id) == ("**Speakers could not be found.** This transcript has its speakers "
                                               "already.\n\n**What to do:** To give them names, use Rename "
                                               "speakers.")


def test_an_entry_without_an_audio_copy_is_refused(cache, two_voices, tmp_path):
    store = HistoryStore(tmp_path / "history", keep_audio_bytes=0)
    entry_id = transcribed(cache, store, two_voices)
    assert store.load(entry_id)[2].audio is None
    message = refused(cache, store, entry_id)
    assert "did not keep this recording's audio (recordings over --keep-audio-mb" in message
    assert 'again with "Who spoke" ticked' in message


def test_an_audio_copy_that_cannot_be_decoded_is_refused(cache, store, two_voices):
    entry_id = transcribed(cache, store, two_voices)
    audio = store.load(entry_id)[2].audio
    audio.write_bytes(audio.read_bytes()[:2000])  # cut short
    message = refused(cache, store, entry_id)
    assert "History's copy of this recording's audio cannot be used" in message


@pytest.mark.parametrize("damage", ["missing", "cut short"])
def test_a_diarizer_that_cannot_load_is_refused_with_the_jobs_error(cache, store, two_voices, voice_diarizer,
                                                                     tmp_path, damage):
    entry_id = transcribed(cache, store, two_voices)
    broken = tmp_path / "diarizer.nemo"
    if damage == "cut short":
        broken.write_bytes(voice_diarizer.read_bytes()[:50_000])
    without = ModelCache(dataclasses.replace(cache.settings, diarizer_path=broken))
    message = refused(without, store, entry_id)
    assert message.startswith("**Model file missing or damaged.**") and str(broken) in message
    if damage == "missing":  # known before anything loads, in the words a job with "Who spoke" ticked uses
        with pytest.raises(ModelFileError) as job_refusal:
            api.job_options(without, speakers=True)
        assert job_refusal.value.message in message


def test_an_edit_saved_while_speakers_are_found_is_kept(cache, store, two_voices):
    """Finding speakers takes a while: a change saved meanwhile (another tab) is not overwritten."""
    entry_id = transcribed(cache, store, two_voices)
    texts = [s.text for s in store.load(entry_id)[0].segments]

    def label_while_a_person_edits(transcript, audio):
        labelled, error = label_transcript(cache, transcript, audio)
        assert error is None
        store.save_edit(entry_id, [EDIT] + texts[1:])
        return labelled, speaker_provenance(cache)

    folder = store.root / entry_id
    with pytest.raises(SpeakersError, match="changed .* while its speakers were being found"):
        store.add_speakers(entry_id, label_while_a_person_edits)
    with_edit = store.load(entry_id)[0]
    assert with_edit.segments[0].text == EDIT and not with_edit.has_speakers and (folder / ORIGINAL).exists()
