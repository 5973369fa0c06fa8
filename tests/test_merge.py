"""merge.py on built hypotheses: the two sides of a hard cut give each word once, in time order."""

from __future__ import annotations

import numpy as np

from transcribe_studio.transcription.merge import merge_text, merge_timed
from transcribe_studio.transcription.transcript import Word

# Left window ends at 12 s, right window starts at 8 s: the overlap is 8-12 s, its middle 10 s.
LEFT_END, RIGHT_START = 12.0, 8.0


def words(*items) -> list[Word]:
    return [Word(start, end, text) for start, end, text in items]


def texts(merged) -> list[str]:
    return [w.text for w in merged]


def assert_ordered(merged):
    middles = [(w.start + w.end) / 2 for w in merged]
    assert middles == sorted(middles)


def test_a_word_on_both_sides_is_kept_once_from_the_side_where_it_lies_farther_from_the_edge():
    left = words((7.0, 7.4, "we"), (9.0, 9.4, "early"), (11.0, 11.4, "late"))
    right = words((9.02, 9.38, "EARLY"), (11.02, 11.4, "LATE"), (12.5, 12.9, "after"))
    merged = merge_timed(left, right, LEFT_END, RIGHT_START)
    # "early" lies 2.8 s from the left edge, 1.2 s from the right one; "late" the other way round.
    assert texts(merged) == ["we", "early", "LATE", "after"]
    assert_ordered(merged)


def test_a_word_straddling_the_cut_is_neither_split_nor_doubled():
    # The left window ends in the middle of "together": it heard "to" only; the right one heard it whole.
    left = words((10.5, 11.0, "went"), (11.6, 12.0, "to"))
    right = words((10.52, 11.0, "went"), (11.6, 12.4, "together"), (12.5, 12.8, "again"))
    merged = merge_timed(left, right, LEFT_END, RIGHT_START)
    assert texts(merged) == ["went", "together", "again"]
    # And at the middle of the overlap, where both sides are as good, one of them only.
    left = words((9.8, 10.2, "middle"))
    right = words((9.81, 10.19, "middle"))
    assert len(merge_timed(left, right, LEFT_END, RIGHT_START)) == 1


def test_a_repeated_word_near_the_cut_is_kept_as_often_as_it_was_said():
    said = [(9.0 + 0.4 * i, 9.3 + 0.4 * i) for i in range(5)]  # "no no no no no" across the middle
    left = [Word(a, b, "no") for a, b in said]
    right = [Word(a + 0.03, b - 0.02, "no") for a, b in said]
    merged = merge_timed(left, right, LEFT_END, RIGHT_START)
    assert texts(merged) == ["no"] * 5
    assert_ordered(merged)


def test_a_word_heard_on_one_side_only_is_kept():
    left = words((9.0, 9.3, "a"), (9.35, 9.6, "quiet"), (9.7, 10.0, "word"))
    right = words((9.0, 9.3, "a"), (9.7, 10.0, "word"), (10.6, 11.0, "next"))  # missed "quiet"
    merged = merge_timed(left, right, LEFT_END, RIGHT_START)
    assert texts(merged) == ["a", "quiet", "word", "next"]


def test_zero_length_stamps_are_matched_too():
    left = words((10.4, 10.4, "uh"))
    right = words((10.42, 10.42, "uh"))
    assert len(merge_timed(left, right, LEFT_END, RIGHT_START)) == 1


def test_a_short_word_stamped_a_frame_apart_on_the_two_sides_is_one_word():
    left = words((9.6, 9.92, "over"), (10.0, 10.08, "a"))
    right = words((9.62, 9.92, "over"), (10.08, 10.16, "A"), (10.2, 10.5, "hill"))
    assert texts(merge_timed(left, right, LEFT_END, RIGHT_START)) == ["over", "A", "hill"]
    # Two different short words that close stay two.
    left, right = words((10.0, 10.08, "a")), words((10.08, 10.16, "I"))
    assert texts(merge_timed(left, right, LEFT_END, RIGHT_START)) == ["a", "I"]


def test_empty_sides():
    some = words((9.0, 9.4, "hello"))
    assert merge_timed([], some, LEFT_END, RIGHT_START) == some
    assert merge_timed(some, [], LEFT_END, RIGHT_START) == some
    assert merge_timed([], [], LEFT_END, RIGHT_START) == []


def _heard(spoken, start: float, end: float, near_edge, rng, frame: float = 0.08) -> list[Word]:
    """What a window [start, end) hears of ``spoken``: stamps on its own frame grid, some edge words missed."""
    def on_grid(t: float) -> float:
        return float(start + np.floor((t - start) / frame) * frame)

    return [Word(on_grid(a), on_grid(b), text) for a, b, text in spoken
            if start <= a and b <= end and not (near_edge(a, b) and rng.random() < 0.5)]


def test_random_hypotheses_on_two_frame_grids_never_lose_or_double_a_word():
    """Both sides hear the same words, stamped on their own 80 ms frame grids (as two passes starting
    at arbitrary samples are), and each misses some near its own edge."""
    rng = np.random.default_rng(7)
    for case in range(300):
        spoken, t = [], float(rng.uniform(0, 1))
        while t < 20.0:
            length = float(rng.uniform(0.2, 0.6))
            spoken.append((t, t + length, f"w{len(spoken)}"))
            t += length + float(rng.choice([0.0, rng.uniform(0.0, 0.3)]))
        left_end = float(rng.uniform(8.0, 12.0))
        right_start = left_end - float(rng.uniform(0.5, 4.0))

        left = _heard(spoken, 0.0, left_end, lambda a, b: left_end - b < 0.5, rng)  # noqa: B023 - used at once
        right = _heard(spoken, right_start, 30.0, lambda a, b: a - right_start < 0.5, rng)  # noqa: B023
        merged = merge_timed(left, right, left_end, right_start)
        got = texts(merged)
        assert len(got) == len(set(got)), f"case {case}: doubled {got}"
        heard_by_one = {w.text for w in left} | {w.text for w in right}
        assert set(got) == heard_by_one, f"case {case}: lost {heard_by_one - set(got)}"
        numbers = [int(text[1:]) for text in got]
        assert numbers == sorted(numbers), f"case {case}: out of order {got}"


# --- merge_text: Canary-Qwen's windows, by the longest common run of normalised words

SPAN_LEFT, SPAN_RIGHT = (0.0, 40.0), (36.0, 60.0)


def filler(name: str, count: int) -> str:
    """``count`` distinct words: speech spread over a window, about 2.5 words a second."""
    return " ".join(f"{name}{i}" for i in range(count))


def test_the_common_run_is_said_once():
    left = filler("a", 90) + " one two three four five six seven eight. The quick brown fox"
    right = "quick, brown fox jumps over the lazy dog " + filler("b", 50)
    kept_left, kept_right = merge_text(left, right, SPAN_LEFT, SPAN_RIGHT)
    assert f"{kept_left} {kept_right}".split() == (
        f"{filler('a', 90)} one two three four five six seven eight. The quick brown fox jumps over the lazy dog "
        f"{filler('b', 50)}").split()


def test_a_word_cut_by_the_edge_is_taken_from_the_side_that_heard_it_whole():
    left = filler("a", 90) + " we will all go to the sea and then we went toge"
    right = "then we went together to the shore " + filler("b", 50)
    kept_left, kept_right = merge_text(left, right, SPAN_LEFT, SPAN_RIGHT)
    assert f"{kept_left} {kept_right}" == (f"{filler('a', 90)} we will all go to the sea and then we went "
                                           f"together to the shore {filler('b', 50)}")


def test_a_repeated_word_near_the_cut_keeps_its_count():
    left = "first words here and no no no no"
    right = "no no no no and then more"
    kept_left, kept_right = merge_text(left, right, (0.0, 10.0), (6.0, 14.0))
    assert f"{kept_left} {kept_right}".split().count("no") == 4


def test_with_no_common_run_each_side_keeps_its_half_of_the_overlap():
    left = " ".join(f"a{i}" for i in range(40))  # one word a second, 0-40 s
    right = " ".join(f"b{i}" for i in range(24))  # one word a second, 36-60 s
    kept_left, kept_right = merge_text(left, right, SPAN_LEFT, SPAN_RIGHT)
    assert kept_left.split()[-1] == "a37" and kept_right.split()[0] == "b2"  # both cut at 38 s


def test_merge_text_empty_sides():
    assert merge_text("", "hello there", SPAN_LEFT, SPAN_RIGHT) == ("", "hello there")
    assert merge_text("hello there", " ", SPAN_LEFT, SPAN_RIGHT) == ("hello there", "")
