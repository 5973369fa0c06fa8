"""Aligning one text's words to another transcript's timed words (Canary-Qwen's text, Parakeet's times)."""

import pytest

from transcribe_studio.transcription.align import align, normalise
from transcribe_studio.transcription.transcript import Word


def timed(*items):
    """``timed("the", 0.0, 0.2, "cat", 0.3, 0.6)`` -> Words."""
    return [Word(items[k + 1], items[k + 2], items[k]) for k in range(0, len(items), 3)]


def check(words, texts, start, end):
    assert [w.text for w in words] == texts  # every word kept once, in order
    assert all(start <= w.start <= w.end <= end for w in words)
    assert all(a.end <= b.start + 1e-9 for a, b in zip(words, words[1:]))


def test_equal_words_take_the_timed_words_times():
    words = align(["The", "cat,", "sat."], timed("the", 1.0, 1.2, "cat", 1.3, 1.6, "sat", 1.7, 2.0), 0.0, 3.0)
    check(words, ["The", "cat,", "sat."], 0.0, 3.0)
    assert [(w.start, w.end, w.estimated) for w in words] == [(1.0, 1.2, False), (1.3, 1.6, False), (1.7, 2.0, False)]


def test_a_substitution_keeps_the_time_of_the_word_it_replaces():
    words = align(["Dana", "said", "yes"], timed("donna", 0.5, 0.9, "said", 1.0, 1.2, "yes", 1.3, 1.5), 0.0, 2.0)
    assert (words[0].start, words[0].end, words[0].estimated) == (0.5, 0.9, False)


def test_an_insertion_is_interpolated_between_its_neighbours():
    words = align(["we", "really", "did", "go"], timed("we", 0.0, 0.2, "did", 1.0, 1.2, "go", 1.3, 1.5), 0.0, 2.0)
    check(words, ["we", "really", "did", "go"], 0.0, 2.0)
    assert words[1].estimated and 0.2 <= words[1].start < words[1].end <= 1.0


def test_a_deletion_drops_the_timed_word_only():
    words = align(["hello", "world"], timed("hello", 0.0, 0.3, "uh", 0.4, 0.5, "world", 0.6, 0.9), 0.0, 1.0)
    assert [(w.text, w.start) for w in words] == [("hello", 0.0), ("world", 0.6)]


def test_repeated_words_line_up_in_order():
    texts = ["the", "the", "end", "the"]
    words = align(texts, timed("the", 0.0, 0.1, "the", 0.2, 0.3, "end", 0.4, 0.6, "the", 0.7, 0.8), 0.0, 1.0)
    assert [w.start for w in words] == [0.0, 0.2, 0.4, 0.7]


@pytest.mark.parametrize("texts", [["only", "canary", "words"], ["one"]])
def test_no_timed_words_spreads_the_text_over_the_window(texts):
    words = align(texts, [], 10.0, 12.0)
    check(words, texts, 10.0, 12.0)
    assert words[0].start == 10.0 and words[-1].end == pytest.approx(12.0) and all(w.estimated for w in words)


def test_empty_text_gives_no_words():
    assert align([], timed("a", 0.0, 0.1), 0.0, 1.0) == []


def test_times_outside_the_window_are_clipped_and_overlaps_removed():
    words = align(["a", "b"], timed("a", -0.5, 0.4, "b", 0.3, 1.4), 0.0, 1.0)
    check(words, ["a", "b"], 0.0, 1.0)


def test_normalise_ignores_case_and_punctuation():
    assert normalise("Hello,") == normalise("hello") == "hello"
    assert normalise("don't") == "don't" and normalise("'quoted'") == "quoted"


def test_a_matched_word_keeps_its_speaker_and_whether_its_time_was_estimated():
    """An edit saved twice: a word estimated at the first edit stays estimated, speakers stay."""
    old = [Word(0.0, 0.4, "hello", speaker="Speaker 2"), Word(0.5, 0.8, "my", estimated=True, speaker="Speaker 2")]
    words = align(["hello", "my", "friend"], old, 0.0, 2.0)
    assert words[:2] == old and words[2].estimated and words[2].speaker is None
    check(words, ["hello", "my", "friend"], 0.0, 2.0)
