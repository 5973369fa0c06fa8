"""Canary-Qwen's text with Parakeet's word times, and names and terms for Parakeet."""

import json
import math
import re

import numpy as np
import pytest

from tests.conftest import loaded
from tests.media import room_tone, speechlike, write_audio
from tests.test_cli import cli_env, run_cli
from transcribe_studio.errors import VocabularyError
from transcribe_studio.models import PARAKEET, ModelCache
from transcribe_studio.models.vocabulary import boosted, parse
from transcribe_studio.outputs.history import read_transcript
from transcribe_studio.outputs.writers import DEFAULT_OPTIONS, MAX_CHARS_PER_SECOND, MIN_CUE_MS
from transcribe_studio.transcription import engine, timings
from transcribe_studio.transcription.doubts import NOT_HEARD, doubts

RATE = 16000


@pytest.fixture(scope="module")
def ninety_seconds(tmp_path_factory):
    parts = []
    for i in range(9):
        parts += [speechlike(9.0, seed=i), room_tone(1.0, seed=i)]
    path = tmp_path_factory.mktemp("ninety") / "meeting.wav"
    write_audio(path, np.concatenate(parts), RATE)
    return path


def _srt_times(text: str) -> list[float]:
    stamps = re.findall(r"(\d\d):(\d\d):(\d\d),(\d\d\d)", text)
    return [int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000 for h, m, s, ms in stamps]


def test_canary_through_the_cli_has_word_times_and_cues_on_word_edges(tmp_path, tiny_parakeet, canary_cache,
                                                                      ninety_seconds):
    out = tmp_path / "out"
    result = run_cli(cli_env(tmp_path, tiny_parakeet, canary_cache), str(ninety_seconds), "--model", "canary",
                     "--format", "json,srt", "--output-dir", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    data = json.loads((out / "meeting.json").read_text())
    words = data["words"]
    assert words and all(0 <= w["start"] <= w["end"] <= data["duration"] for w in words)
    assert [w["start"] for w in words] == sorted(w["start"] for w in words)
    assert " ".join(w["text"] for w in words) == " ".join(data["text"].split())  # every Canary word, once
    assert any("Word times from a Parakeet-TDT-0.6B-v2 pass" in note for note in data["notes"])
    assert data["metadata"]["settings"]["word_timings"] is True
    # The words the timing pass did not hear are words to check, and say why.
    checked = doubts(read_transcript(out / "meeting.json"))
    assert [d.index for d in checked if d.reason == NOT_HEARD] == [i for i, w in enumerate(words) if w.get("estimated")]
    assert _srt_times((out / "meeting.srt").read_text())  # subtitles were written from those words


def test_subtitle_cues_of_a_retimed_transcript_start_and_end_on_words():
    from transcribe_studio.outputs.writers import subtitle_cues
    from transcribe_studio.transcription.transcript import Segment, Transcript, Word

    text = ("Good morning everyone. Dana will start with the budget, then we move to hiring. "
            "Any questions before we begin? No? Great, let us go.")
    canary = Transcript(text=text, segments=[Segment(0.0, 20.0, text)], duration=20.0)
    heard = [w for w in text.replace(",", "").replace(".", "").replace("?", "").split() if w != "Dana"]
    timer = [Word(0.5 + 0.7 * i, 0.5 + 0.7 * i + 0.5, w.lower()) for i, w in enumerate(heard)]
    timings._retime(canary, timer)
    assert [w.text for w in canary.words] == text.split() and sum(w.estimated for w in canary.words) == 1
    starts = {round(w.start * 1000) for w in canary.words}
    ends = {round(w.end * 1000) for w in canary.words}
    cues = subtitle_cues(canary)
    assert len(cues) >= 3 and [s.text.split()[0] for s in canary.segments] == ["Good", "Dana", "Any", "No?", "Great,"]
    for cue, following in zip(cues, cues[1:] + [None]):
        assert cue.start_ms in starts
        # kept up for the shortest cue's time or to be read at 17 characters a second, else until the gap before
        # the next cue
        reading = cue.start_ms + max(MIN_CUE_MS, math.ceil(cue.shown_chars * 1000 / MAX_CHARS_PER_SECOND))
        gap = DEFAULT_OPTIONS.min_gap_ms
        stretched = cue.end_ms == reading or (following and cue.end_ms == following.start_ms - gap)
        assert cue.end_ms in ends or stretched


def test_no_word_timings_gives_one_segment_per_window(shared_cache):
    audio = np.concatenate([speechlike(9.0, seed=1), room_tone(1.0), speechlike(9.0, seed=2)])
    plain = engine.transcribe(shared_cache, "canary", audio, options=engine.Options(word_timings=False))
    assert plain.words == [] and len(plain.segments) == 1 and plain.segments[0].end == pytest.approx(19.0, abs=0.01)
    assert plain.notes == ["Word timings were not asked for: one segment per window."]


def test_word_timings_skipped_with_a_note_when_the_timer_cannot_load(settings, tmp_path):
    import dataclasses

    cache = ModelCache(dataclasses.replace(settings, parakeet_path=tmp_path / "missing.nemo"))
    transcript = engine.transcribe(cache, "canary", speechlike(6.0))
    assert transcript.segments and not transcript.words
    assert transcript.notes[0].startswith("Word timings skipped:") and "missing.nemo" in transcript.notes[0]


# --- names and terms ------------------------------------------------------------------------------------

def test_a_boosted_phrase_reaches_the_decoder_and_the_decoding_comes_back(shared_cache):
    audio = speechlike(6.0)
    model = loaded(shared_cache, PARAKEET)
    before = engine.transcribe(shared_cache, PARAKEET, audio)
    saved = dict(model.cfg.decoding.greedy)
    weighted = engine.Options(vocabulary=("nine",))
    import dataclasses

    heavy = dataclasses.replace(shared_cache.settings, vocabulary_weight=100.0)
    shared_cache.settings, original = heavy, shared_cache.settings
    try:
        boosted_text = engine.transcribe(shared_cache, PARAKEET, audio, options=weighted)
    finally:
        shared_cache.settings = original
    assert "nine" in boosted_text.text and "nine" not in before.text
    assert any("Names and terms favoured (weight 100): nine." == note for note in boosted_text.notes)
    assert dict(model.cfg.decoding.greedy) == saved  # the shared model decodes as before
    assert engine.transcribe(shared_cache, PARAKEET, audio).text == before.text


def test_the_vocabulary_does_not_apply_to_canary_and_says_so(shared_cache):
    transcript = engine.transcribe(shared_cache, "canary", speechlike(4.0),
                                   options=engine.Options(vocabulary=("Dana",), word_timings=False))
    assert "does not apply to Canary-Qwen-2.5B" in transcript.notes[0]


def test_a_cuda_graph_fallback_inside_a_boosted_job_stays_in_force(shared_cache):
    from transcribe_studio.models.nemo_asr import _switch_decoder_graphs_off

    model = loaded(shared_cache, PARAKEET)
    engine.transcribe(shared_cache, PARAKEET, speechlike(2.0))
    with boosted(model, ["nine"], 2.0):
        _switch_decoder_graphs_off(model)
    assert model.cfg.decoding.greedy.use_cuda_graph_decoder is False
    assert not model.cfg.decoding.greedy.get("boosting_tree_alpha")


@pytest.mark.parametrize("given, phrases", [("Dana, Kubernetes ,OKRs", ["Dana", "Kubernetes", "OKRs"]),
                                            ("Dana\nDana\n\nLe Guin", ["Dana", "Le Guin"]), ("", []), (None, [])])
def test_vocabulary_from_text(given, phrases):
    assert parse(given) == phrases


def test_a_slash_inside_a_term_is_no_file():
    assert parse("TCP/IP, AC/DC") == ["TCP/IP", "AC/DC"] and parse("TCP/IP") == ["TCP/IP"]


def test_vocabulary_from_a_file(tmp_path):
    path = tmp_path / "names.txt"
    path.write_text("Dana Whitfield\nKubernetes\n", encoding="utf-8")
    assert parse(str(path)) == ["Dana Whitfield", "Kubernetes"]


@pytest.mark.parametrize("given", [" , ,", "x" * 101, "!!!", "a\x01b", "/no/such/names.txt", "~/no-terms",
                                   "names.txt"])
def test_an_unusable_vocabulary_is_named(given):
    with pytest.raises(VocabularyError) as caught:
        parse(given)
    assert "What to do" in caught.value.user_message()


def test_the_cli_refuses_an_unusable_vocabulary_before_any_model_loads(tmp_path, tiny_parakeet, canary_cache,
                                                                      wav_file):
    result = run_cli(cli_env(tmp_path, tiny_parakeet, canary_cache), str(wav_file), "--vocabulary", " , ,")
    assert result.returncode == 2 and "names and terms" in result.stderr and "Traceback" not in result.stderr


def test_a_batch_whose_models_do_not_fit_together_adds_word_times_after_all_files(settings, tmp_path, registered):
    """Canary-Qwen over every file first (each saved, times pending), then one Parakeet pass over all of them:
    never a model swap per file. The GPU's 'does not fit' is the one thing injected."""
    import dataclasses

    from transcribe_studio.models import CANARY, get
    from transcribe_studio.transcription import batch

    order = []

    def recording(key, real):
        def call(model, audio, spans, *args, **kwargs):
            order.append(key)
            return real(model, audio, spans, *args, **kwargs)
        return call

    def recording_batches(key, real):
        def call(model, pieces, *args, **kwargs):
            order.extend([key] * len(pieces))
            return real(model, pieces, *args, **kwargs)
        return call

    for key in (CANARY, PARAKEET):
        registered(dataclasses.replace(get(key), transcribe=recording(key, get(key).transcribe),
                                       transcribe_batch=recording_batches(key, get(key).transcribe_batch)))
    cache = ModelCache(settings)
    cache.fits_together = lambda first, second: False
    files = []
    for i in range(2):
        files.append(tmp_path / f"talk{i}.wav")
        write_audio(files[-1], np.concatenate([speechlike(5.0, seed=i), room_tone(0.5)]), RATE)
    updated = []
    (tmp_path / "out").mkdir()  # made for the batch, as History makes each entry's folder
    results = list(batch.run_batch(cache, CANARY, files, ["json", "srt"], output_dir_for=lambda s: tmp_path / "out",
                                   on_update=updated.append))
    assert all(r.ok for r in results) and [r.source for r in updated] == files
    assert order == [CANARY, CANARY, PARAKEET, PARAKEET]  # every file's windows with Canary first, then the timer
    for path in files:
        data = json.loads((tmp_path / "out" / f"{path.stem}.json").read_text())
        assert data["words"] and not any(n == timings.PENDING_NOTE for n in data["notes"])
        assert any(n.startswith("Word times from a Parakeet") for n in data["notes"])


def test_the_page_never_reads_a_server_file_named_in_the_names_and_terms_box(tmp_path):
    from transcribe_studio.app import api

    secret = tmp_path / "secret.txt"
    secret.write_text("password one\npassword two\n", encoding="utf-8")
    options = api.job_options(None, str(secret), True, False)
    assert options.vocabulary == (str(secret),)  # taken as typed, never opened
    assert parse(str(secret)) == ["password one", "password two"]  # the CLI (the user's own shell) may read files


def test_the_timing_pass_does_not_replace_the_partial_text_the_page_shows(shared_cache):
    from transcribe_studio.progress import partial_to

    shown = []
    with partial_to(shown.append):
        transcript = engine.transcribe(shared_cache, "canary", speechlike(6.0))
    assert shown and transcript.words  # the timing pass ran
    assert all(text.startswith("!") or not text for text in shown)  # the tiny Canary's text only, never Parakeet's
