"""Word confidence: Parakeet's words carry NeMo's confidence (entropy-based, the minimum over
a word's tokens), one per word, in [0, 1]; saved in the JSON and read back by History; the same through the batched
path within a small tolerance (a batch pads its pieces); paired with the words only where NeMo's counts agree."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from tests.media import speechlike, write_audio
from transcribe_studio.media.decode import decode_audio
from transcribe_studio.models import PARAKEET, get
from transcribe_studio.models.nemo_asr import _confidences, words_and_segments
from transcribe_studio.outputs.history import read_transcript
from transcribe_studio.outputs.writers import write_outputs
from transcribe_studio.transcription import batched, engine

TOLERANCE = 0.05  # what batch padding may move a confidence by


def test_parakeet_words_carry_one_confidence_each_saved_and_read_back(shared_cache, tmp_path):
    assert get(PARAKEET).word_confidence and get("parakeet-v3").word_confidence
    transcript = engine.transcribe(shared_cache, PARAKEET, speechlike(5.0, seed=2))
    confidences = [w.confidence for w in transcript.words]
    assert transcript.words and all(c is not None and 0.0 <= c <= 1.0 for c in confidences)
    assert len(set(round(c, 3) for c in confidences)) > 1  # they vary from word to word
    json_path, = write_outputs(transcript, "talk.wav", tmp_path, ["json"])
    saved = json.loads(json_path.read_text(encoding="utf-8"))["words"]
    assert [w["confidence"] for w in saved] == [round(c, 4) for c in confidences]
    read = read_transcript(json_path)
    assert [w.confidence for w in read.words] == [round(c, 4) for c in confidences]


def test_the_batched_path_gives_the_same_confidences_within_a_tolerance(shared_cache, tmp_path):
    sources = [write_audio(tmp_path / f"f{i}.wav", speechlike(seconds, seed=i), 16000)
               for i, seconds in enumerate((2.0, 4.5, 3.0))]
    together = {heard.source: heard.transcript for heard in
                batched.transcribe_files(shared_cache, PARAKEET, sources, decode_audio)}
    for source in sources:
        alone = engine.transcribe(shared_cache, PARAKEET, decode_audio(source))
        assert [w.text for w in together[source].words] == [w.text for w in alone.words]
        assert [w.confidence for w in together[source].words] == pytest.approx(
            [w.confidence for w in alone.words], abs=TOLERANCE)


def test_confidences_pair_with_words_only_where_the_counts_agree():
    words = [{"word": "we", "start": 0.0, "end": 0.2}, {"word": "see", "start": 0.2, "end": 0.5},
             {"word": "it", "start": 1.2, "end": 1.4}]  # the last lies in padding past a 1.0 s piece
    heard = SimpleNamespace(text="we see it", timestamp={"word": words, "segment": []}, word_confidence=[0.9, 1.2, .3])
    timed, _ = words_and_segments(heard, 1.0)
    assert [(w.text, w.confidence) for w in timed] == [("we", 0.9), ("see", 1.0)]  # clamped; dropped with its word
    assert _confidences(SimpleNamespace(text="we see", word_confidence=[0.5]), 2) == [None, None]
    assert _confidences(SimpleNamespace(text="we see", word_confidence=None), 2) == [None, None]
