"""Subtitle cues a person can read: reading speed, shortest cue, gap between cues, one speaker per cue; the
options saved with an entry and used again when History rewrites it; settings refused with a reason."""

import json
import math
import random
import re
from dataclasses import replace

import pytest

from tests.test_writers import parse_srt
from transcribe_studio.errors import ConfigurationError
from transcribe_studio.outputs import writers
from transcribe_studio.outputs.history import HistoryStore
from transcribe_studio.outputs.writers import (
    DEFAULT_OPTIONS,
    WriterOptions,
    get_writer,
    reading_speed_notes,
    subtitle_cues,
    write_outputs,
)
from transcribe_studio.settings import Settings
from transcribe_studio.transcription.transcript import Segment, Transcript, Word

VOCABULARY = "the a of and to in is it you that he was for on are with as I his they be at one have this".split()
LONG_WORDS = ["Constantinople", "internationalisation", "supercalifragilisticexpialidocious",
              "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch"]  # the last is longer than a line


def long_transcript(seed: int = 7, turns: int = 160) -> Transcript:
    """Thousands of words: three speakers (one named), a word now and then said by another speaker inside a
    segment, bursts of speech far too fast to read, very long words, and the last words right at the end."""
    rng = random.Random(seed)
    t, words, segments = 0.3, [], []
    for _ in range(turns):
        speaker, fast, first = f"Speaker {rng.randint(1, 3)}", rng.random() < 0.25, len(words)
        for _ in range(rng.randint(1, 40)):
            text = rng.choice(LONG_WORDS) if rng.random() < 0.05 else rng.choice(VOCABULARY)
            length = (0.03 if fast else 0.06) * len(text) + rng.uniform(0.0, 0.04)
            said_by = speaker if rng.random() > 0.02 else f"Speaker {rng.randint(1, 3)}"
            words.append(Word(round(t, 3), round(t + length, 3), text, speaker=said_by))
            t += length + (rng.choice([0.0, 0.01, 0.03]) if fast else rng.choice([0.02, 0.05, 0.1, 0.4]))
        segments.append(Segment(words[first].start, words[-1].end, " ".join(w.text for w in words[first:]),
                                speaker))
        t += rng.choice([0.0, 0.05, 0.3, 1.5])
    for text in ("and", "at", "the", "end"):  # a fast last segment ending exactly where the audio does
        words.append(Word(round(t, 3), round(t + 0.08, 3), text, speaker="Speaker 1"))
        t += 0.09
    segments.append(Segment(words[-4].start, words[-1].end, "and at the end", "Speaker 1"))
    return Transcript(" ".join(s.text for s in segments), segments, words, "parakeet", words[-1].end,
                      speaker_names={"Speaker 2": "Dana"})


OPTION_SETS = {
    "defaults": DEFAULT_OPTIONS,
    "narrow and slow": WriterOptions(line_chars=30, cue_seconds=4.0, max_chars_per_second=12.0,
                                     min_cue_seconds=1.2, min_gap_seconds=0.2),
}


def words_of(transcript: Transcript, line_chars: int) -> list[tuple[str, int, str | None]]:
    """(text, segment index, speaker label) of every word as cues show it: a word longer than a line cut."""
    found = []
    for index, segment in enumerate(transcript.segments):
        inside = [w for w in transcript.words if segment.start <= w.start and w.end <= segment.end]
        for word in inside:
            found += [(word.text[i:i + line_chars], index, word.speaker or segment.speaker)
                      for i in range(0, len(word.text), line_chars)]
    return found


def too_fast(cue, options: WriterOptions) -> bool:
    return cue.shown_chars / ((cue.end_ms - cue.start_ms) / 1000) > options.max_chars_per_second + 1e-9


@pytest.mark.parametrize("name", OPTION_SETS)
def test_every_cue_of_a_long_transcript_keeps_the_reading_rules(name):
    options, transcript = OPTION_SETS[name], long_transcript()
    assert len(transcript.words) > 2500
    cues = subtitle_cues(transcript, options)
    limit_ms, gap_ms = round(transcript.duration * 1000), options.min_gap_ms
    assert cues[0].start_ms >= 0 and cues[-1].end_ms <= limit_ms
    for cue, following in zip(cues, cues[1:] + [None]):
        assert cue.start_ms < cue.end_ms <= cue.start_ms + options.cue_ms
        if following is not None:  # in order, never overlapping, and the gap between
            assert following.start_ms - cue.end_ms >= gap_ms
        # At least the shortest cue's time, unless cut short by exactly the gap before the next cue or by the
        # end of the audio.
        held_by = following.start_ms - gap_ms if following is not None else limit_ms
        assert cue.end_ms - cue.start_ms >= options.min_cue_ms or cue.end_ms == held_by
        alone = len(" ".join(cue.lines).split()) == 1
        assert len(cue.lines) <= 2 and all(len(line) <= options.line_chars for line in cue.lines)
        # the first line leaves room for the speaker's name, unless one long word cannot share a line with it
        assert len(cue.lines[0]) + (len(cue.speaker) + 2 if cue.speaker else 0) <= options.line_chars or alone
        # too fast only when it has no more time to take: held until the gap before the next cue, its longest
        # time or the end of the audio
        assert not too_fast(cue, options) or cue.end_ms == min(held_by, cue.start_ms + options.cue_ms), cue
    # Every word once, in order; each cue's words of one segment and one speaker, and its name shown.
    expected, at = words_of(transcript, options.line_chars), 0
    for cue in cues:
        shown = " ".join(cue.lines).split()
        taken, at = expected[at:at + len(shown)], at + len(shown)
        assert [text for text, _, _ in taken] == shown
        assert len({(segment, label) for _, segment, label in taken}) == 1, (cue, taken)
        assert cue.speaker == transcript.speaker_name(taken[0][2])
    assert at == len(expected)


@pytest.mark.parametrize("name", OPTION_SETS)
def test_every_cue_too_fast_to_read_is_reported_once_with_its_time_and_word(name):
    options, transcript = OPTION_SETS[name], long_transcript()
    fast = [cue for cue in subtitle_cues(transcript, options) if too_fast(cue, options)]
    notes = reading_speed_notes(transcript, options)
    assert fast and len(notes) == len(fast)  # the generated bursts are too fast for any cut
    for cue, note in zip(fast, notes):
        hours, rest = divmod(cue.start_ms // 1000, 3600)
        assert note.startswith(f'{hours}:{rest // 60:02d}:{rest % 60:02d} "{" ".join(cue.lines)}" is shown at ')
        rate = float(re.search(r"shown at ([\d.]+) characters a second", note).group(1))
        assert rate > options.max_chars_per_second
        alone = len(" ".join(cue.lines).split()) == 1
        assert note.endswith(": one word cannot be split." if alone else
                             ": spoken that fast, with no pause after it to show it longer.")
    assert any(len(" ".join(cue.lines).split()) > 1 for cue in fast)  # fast speech stays in whole cues


def test_the_srt_and_vtt_files_carry_those_cues():
    transcript = long_transcript(turns=30)
    cues = subtitle_cues(transcript)
    srt, vtt = get_writer("srt").render(transcript), get_writer("vtt").render(transcript)
    assert [(start, end) for start, end, _ in parse_srt(srt)] == [(c.start_ms / 1000, c.end_ms / 1000) for c in cues]
    assert re.findall(r"\n(\S+) --> (\S+)\n", vtt) == [tuple(t.replace(",", ".") for t in pair)
                                                       for pair in re.findall(r"\n(\S+) --> (\S+)\n", srt)]


def test_a_readable_transcript_has_no_notes():
    words = [Word(0.5 + 0.5 * i, 0.9 + 0.5 * i, text) for i, text in enumerate("we meet at noon today".split())]
    transcript = Transcript("we meet at noon today", [Segment(0.5, 2.9, "we meet at noon today")], words,
                            duration=4.0)
    assert reading_speed_notes(transcript) == []


# --- each rule on its own ---------------------------------------------------------------------------------

def test_a_cue_is_kept_up_into_the_pause_after_it_to_be_read():
    text = "Here we go again, quickly."  # 26 characters said in 0.6 s: 43 a second
    transcript = Transcript(text, [Segment(1.0, 1.6, text), Segment(6.0, 6.5, "Later.")], duration=7.0)
    first, later = subtitle_cues(transcript)
    assert (first.start_ms, first.end_ms) == (1000, 1000 + 1530)  # 26 / 17 = 1.53 s
    assert first.chars_per_second <= 17 and later.start_ms == 6000


def test_the_cut_moves_so_that_every_cue_can_be_read():
    """Eight words fill two 24-character lines, but the last four are said fast: cut before them, the first
    four are read in the pause after them and the rest in the silence at the end."""
    said = [("alpha", 0.0), ("bravo", 0.25), ("charl", 0.5), ("delta", 0.75),  # then a pause until 2 s
            ("echo.", 2.0), ("foxtr", 2.1), ("golfs", 2.2), ("hotel", 2.3), ("end", 2.4)]
    words = [Word(start, start + 0.1, text) for text, start in said]
    text = " ".join(t for t, _ in said)
    transcript = Transcript(text, [Segment(0.0, 2.5, text)], words, duration=6.0)
    options = WriterOptions(line_chars=24)
    assert writers._wrap([t for t, _ in said[:8]], 24)  # all eight fit one cue's lines: 47 characters in 2.3 s
    cues = subtitle_cues(transcript, options)
    assert [" ".join(c.lines) for c in cues] == ["alpha bravo charl delta", "echo. foxtr golfs hotel end"]
    assert not any(too_fast(c, options) for c in cues)
    assert [(c.start_ms, c.end_ms) for c in cues] == [(0, 1353), (2000, 3530)]  # 23 and 26 characters at 17 a second


def test_speech_too_fast_for_any_cut_stays_in_whole_cues_held_until_the_next():
    """Twelve words in 1.2 s: cut finer, each part would get its share of the time less a gap, so at least one
    would be as fast; single words would flash by. So they stay in one cue, kept up until the next one."""
    texts = "so then we all went out to the park and had fun".split()
    words = [Word(round(0.1 * i, 3), round(0.1 * i + 0.09, 3), text) for i, text in enumerate(texts)]
    text = " ".join(texts)
    transcript = Transcript(text + " Later.", [Segment(0.0, 1.19, text), Segment(1.5, 1.8, "Later.")],
                            words + [Word(1.5, 1.8, "Later.")], duration=3.0)
    first, later = subtitle_cues(transcript)
    assert " ".join(first.lines) == text and (first.start_ms, first.end_ms) == (0, 1500 - 84)
    assert reading_speed_notes(transcript) == [f'0:00:00 "{text}" is shown at 32 characters a second: spoken '
                                               "that fast, with no pause after it to show it longer."]


def shortfall(cues, options: WriterOptions) -> int:
    """The reading time the cues lack, summed, in ms."""
    return sum(max(math.ceil(c.shown_chars * 1000 / options.max_chars_per_second) - (c.end_ms - c.start_ms), 0)
               for c in cues)


def timed_cut(words: list[Word], cut: list[int], limit_ms: int, options: WriterOptions):
    """The cues of one cut (the indices where cues start), timed by the rules subtitle_cues documents; None
    where a cue breaks the line or duration limits."""
    bounds, cues, start = cut + [len(words)], [], max(round(words[0].start * 1000), 0)
    for i, j in zip(bounds, bounds[1:]):
        lines = writers._wrap([w.text for w in words[i:j]], options.line_chars)
        first, last = round(words[i].start * 1000), round(words[j - 1].end * 1000)
        if lines is None or (j > i + 1 and last - first > options.cue_ms):
            return None
        needed = math.ceil(sum(map(len, lines)) * 1000 / options.max_chars_per_second)
        free = min(start + options.cue_ms, limit_ms,
                   round(words[j].start * 1000) - options.min_gap_ms if j < len(words) else limit_ms)
        end = max(min(max(last, start + options.min_cue_ms, start + needed), free), start + 1)
        cues.append(writers.Cue(start, end, lines))
        start = max(round(words[j].start * 1000), end + options.min_gap_ms) if j < len(words) else None
    return cues


@pytest.mark.parametrize("seed", range(12))
def test_the_cut_taken_lacks_no_more_reading_time_than_any_other(seed):
    """Every cut of ten words, tried one by one: none leaves less reading time lacking, or as little with
    fewer cues, than the one subtitle_cues takes."""
    rng = random.Random(seed)
    words, t = [], 0.0
    for _ in range(10):
        text = rng.choice(VOCABULARY + LONG_WORDS[:2])
        length = rng.choice([0.02, 0.05, 0.08]) * len(text)
        words.append(Word(round(t, 3), round(t + length, 3), text))
        t += length + rng.choice([0.0, 0.02, 0.1, 0.6, 1.5])
    text = " ".join(w.text for w in words)
    transcript = Transcript(text, [Segment(words[0].start, words[-1].end, text)], words,
                            duration=round(t + rng.choice([0.0, 0.5]), 3))
    options, limit_ms = WriterOptions(line_chars=30), round(transcript.duration * 1000)
    cuts = [timed_cut(words, [0] + [k for k in range(1, 10) if mask >> k & 1], limit_ms, options)
            for mask in range(0, 1 << 10, 2)]
    best = min((shortfall(cues, options), len(cues)) for cues in cuts if cues is not None)
    taken = subtitle_cues(transcript, options)
    assert (shortfall(taken, options), len(taken)) == best


def test_shortest_cue_and_gap_follow_the_options():
    segments = [Segment(1.0, 1.2, "Hi."), Segment(1.5, 1.7, "there."), Segment(5.0, 5.1, "End.")]
    transcript = Transcript("Hi. there. End.", segments, duration=5.5)
    options = WriterOptions(min_cue_seconds=1.0, min_gap_seconds=0.25)
    times = [(c.start_ms, c.end_ms) for c in subtitle_cues(transcript, options)]
    # "Hi." ends the gap before "there."; "there." lasts 1 s; "End." is cut short by the end of the audio.
    assert times == [(1000, 1250), (1500, 2500), (5000, 5500)]
    assert [(c.start_ms, c.end_ms) for c in subtitle_cues(transcript)] == [(1000, 1416), (1500, 2334),
                                                                            (5000, 5500)]


def test_words_of_another_speaker_inside_a_segment_get_their_own_cue():
    words = [Word(0.0, 0.3, "Yes", speaker="Speaker 1"), Word(0.4, 0.7, "indeed", speaker="Speaker 1"),
             Word(3.0, 3.3, "no", speaker="Speaker 2"), Word(3.4, 3.7, "way", speaker="Speaker 2"),
             Word(6.0, 6.3, "fine", speaker=None)]  # a word without its own speaker is the segment's
    transcript = Transcript("Yes indeed no way fine", [Segment(0.0, 6.3, "Yes indeed no way fine", "Speaker 1")],
                            words, duration=9.0, speaker_names={"Speaker 2": "Dana"})
    shown = [(c.speaker, " ".join(c.lines)) for c in subtitle_cues(transcript)]
    assert shown == [("Speaker 1", "Yes indeed"), ("Dana", "no way"), ("Speaker 1", "fine")]


def test_a_word_at_the_very_end_of_the_audio_stays_inside_it():
    words = [Word(0.0, 0.4, "Good"), Word(0.5, 0.9, "night"), Word(1.96, 2.0, "Constantinople")]
    transcript = Transcript("Good night Constantinople", [Segment(0.0, 0.9, "Good night"),
                                                          Segment(1.96, 2.0, "Constantinople")], words, duration=2.0)
    first, last = subtitle_cues(transcript)
    assert (first.end_ms, last.start_ms, last.end_ms) == (900, 1960, 2000)  # the last one: all there is
    assert reading_speed_notes(transcript) == [
        '0:00:01 "Constantinople" is shown at 350 characters a second: one word cannot be split.']


# --- options saved with the entry ---------------------------------------------------------------------------

NARROW = WriterOptions(line_chars=20, cue_seconds=3.0, max_chars_per_second=14.0, min_cue_seconds=1.0,
                       min_gap_seconds=0.125)


def test_the_options_used_are_saved_in_the_json_and_read_back(tmp_path):
    [path] = write_outputs(long_transcript(turns=5), "talk.wav", tmp_path, ["json"], {"model": "m"},
                           writer_options=NARROW)
    metadata = json.loads(path.read_text(encoding="utf-8"))["metadata"]
    assert metadata == {"model": "m", "subtitles": {"line_chars": 20, "cue_seconds": 3.0,
                                                    "max_chars_per_second": 14.0, "min_cue_seconds": 1.0,
                                                    "min_gap_seconds": 0.125}}
    assert WriterOptions.from_metadata(metadata, DEFAULT_OPTIONS) == NARROW
    assert WriterOptions.from_metadata({"model": "m"}, NARROW) == NARROW  # saved before: the default's
    damaged = {"subtitles": {"line_chars": "wide", "cue_seconds": -1, "max_chars_per_second": 12.0,
                             "min_gap_seconds": True}}
    assert WriterOptions.from_metadata(damaged, DEFAULT_OPTIONS) == WriterOptions(max_chars_per_second=12.0)
    undocumented = WriterOptions.from_metadata({"subtitles": {}}, WriterOptions(timestamps=False))
    assert undocumented.timestamps is False  # document options are not subtitle options: the default's


def plain_transcript() -> Transcript:
    """A hundred short words, no speakers: every line fits 20 characters, and 42 take more."""
    words = [Word(round(0.4 * i, 3), round(0.4 * i + 0.3, 3), VOCABULARY[i % len(VOCABULARY)]) for i in range(100)]
    segments = [Segment(words[i].start, words[i + 9].end, " ".join(w.text for w in words[i:i + 10]))
                for i in range(0, 100, 10)]
    return Transcript(" ".join(s.text for s in segments), segments, words, "parakeet", 41.0)


def _entry(store: HistoryStore, options: WriterOptions, saved: bool = True) -> str:
    folder = store.open_entry("talk.wav")
    write_outputs(plain_transcript(), "talk.wav", folder, ["json", "srt"], {"source": "talk.wav"},
                  writer_options=options)
    if not saved:  # an entry written before the options were saved: its JSON without them
        (folder / "talk.json").write_text(get_writer("json").render(plain_transcript(), {"source": "talk.wav"}),
                                          encoding="utf-8")
    return store.finish(folder)


def _srt_lines(store: HistoryStore, entry_id: str) -> list[str]:
    return [line for _, _, lines in parse_srt((store.root / entry_id / "talk.srt").read_text(encoding="utf-8"))
            for line in lines]


def test_a_history_edit_lays_the_subtitles_out_with_the_entry_s_own_options(tmp_path):
    store = HistoryStore(tmp_path / "history")  # today's settings: the defaults
    entry_id = _entry(store, NARROW)
    texts = [s.text for s in store.load(entry_id)[0].segments]
    store.save_edit(entry_id, ["Edited " + texts[0]] + texts[1:])
    lines = _srt_lines(store, entry_id)
    assert lines[0].startswith("Edited")
    assert max(len(line) for line in lines) <= 20  # the entry's 20 characters, not today's 42
    _, metadata, _ = store.load(entry_id)
    assert WriterOptions.from_metadata(metadata, DEFAULT_OPTIONS) == NARROW and metadata["edited"]


def test_an_entry_saved_without_options_is_rewritten_with_the_store_s_and_keeps_them(tmp_path):
    store = HistoryStore(tmp_path / "history", writer_options=NARROW)
    entry_id = _entry(store, DEFAULT_OPTIONS, saved=False)
    assert "subtitles" not in store.load(entry_id)[1]
    assert max(len(line) for line in _srt_lines(store, entry_id)) > 20  # written with the defaults
    texts = [s.text for s in store.load(entry_id)[0].segments]
    store.save_edit(entry_id, texts[:-1] + [texts[-1] + " again"])
    assert max(len(line) for line in _srt_lines(store, entry_id)) <= 20
    assert WriterOptions.from_metadata(store.load(entry_id)[1], DEFAULT_OPTIONS) == NARROW


# --- settings ----------------------------------------------------------------------------------------------

def test_the_reading_rules_come_from_the_environment_and_flags():
    import argparse

    assert WriterOptions.from_settings(Settings()) == DEFAULT_OPTIONS
    env = {"STUDIO_SUBTITLE_MAX_CPS": "20", "STUDIO_SUBTITLE_MIN_SECONDS": "1", "STUDIO_SUBTITLE_MIN_GAP": "0.1"}
    options = WriterOptions.from_settings(Settings.from_env(env).validate())
    assert (options.max_chars_per_second, options.min_cue_seconds, options.min_gap_seconds) == (20.0, 1.0, 0.1)
    parser = argparse.ArgumentParser()
    Settings.add_arguments(parser)
    args = parser.parse_args(["--subtitle-max-cps", "15", "--subtitle-min-seconds", "0.5",
                              "--subtitle-min-gap", "0"])
    flagged = Settings.from_args(args, environ=env).validate()
    assert (flagged.subtitle_max_cps, flagged.subtitle_min_seconds, flagged.subtitle_min_gap) == (15.0, 0.5, 0.0)


def test_the_command_line_help_shows_the_reading_rules():
    from transcribe_studio.commands.cli import build_parser

    shown = " ".join(build_parser().format_help().split())
    assert "--subtitle-max-cps" in shown and "STUDIO_SUBTITLE_MAX_CPS; default: 17]" in shown
    assert "STUDIO_SUBTITLE_MIN_SECONDS; default: 0.833]" in shown
    assert "STUDIO_SUBTITLE_MIN_GAP; default: 0.083]" in shown


@pytest.mark.parametrize("env, says", [
    ({"STUDIO_SUBTITLE_MAX_CPS": "0"}, "reading speed must be 5 to 100 characters a second (not 0)"),
    ({"STUDIO_SUBTITLE_MAX_CPS": "nan"}, "reading speed must be 5 to 100 characters a second (not nan)"),
    ({"STUDIO_SUBTITLE_MIN_SECONDS": "-1"}, "shortest cue must last 0 to 7 seconds, the longest cue's time (not -1)"),
    ({"STUDIO_SUBTITLE_MIN_SECONDS": "8"}, "shortest cue must last 0 to 7 seconds, the longest cue's time (not 8)"),
    ({"STUDIO_SUBTITLE_MIN_GAP": "2"}, "The subtitles' gap between cues must be 0 to 1 second (not 2)."),
])
def test_reading_rules_out_of_range_are_refused_with_the_reason(env, says):
    with pytest.raises(ConfigurationError) as refused:
        Settings.from_env(env).validate()
    message = refused.value.user_message()
    assert message.startswith("Invalid setting: The subtitles' ") and says in message
    assert message.count("must") == 1  # only what is wrong: the defaults of the others are fine
    assert "STUDIO_SUBTITLE_MAX_CPS" in message and "--subtitle-min-gap" in message


def test_the_cli_lists_the_first_cues_too_fast_to_read_then_how_many_more(tmp_path):
    from transcribe_studio.commands.cli import reading_speed_lines
    from transcribe_studio.transcription.batch import FileResult

    transcript = long_transcript(turns=30)
    notes = reading_speed_notes(transcript)
    assert len(notes) > 4
    written = FileResult(tmp_path / "talk.wav", transcript, outputs=[tmp_path / "talk.srt"])
    assert reading_speed_lines(written, DEFAULT_OPTIONS) == [f"   subtitles: {note}" for note in notes[:3]] + [
        f"   subtitles: and {len(notes) - 3} more cues too fast to read"]
    text_only = FileResult(tmp_path / "talk.wav", transcript, outputs=[tmp_path / "talk.txt"])
    assert reading_speed_lines(text_only, DEFAULT_OPTIONS) == []  # no subtitles written: nothing to say


def test_the_page_says_which_cues_are_too_fast_with_the_entry_s_own_rules(tmp_path):
    from transcribe_studio.app.views import subtitle_note

    store = HistoryStore(tmp_path / "history")
    relaxed = replace(DEFAULT_OPTIONS, max_chars_per_second=100.0)
    assert subtitle_note(store, _entry(store, relaxed)) == ""  # readable under the rules it was saved with
    strict = replace(DEFAULT_OPTIONS, max_chars_per_second=5.0)
    note = subtitle_note(store, _entry(store, strict))
    notes = reading_speed_notes(plain_transcript(), strict)
    assert note.startswith(f"**Subtitles:** {len(notes)} cues are shown faster than 5 characters a second")
    assert note.count("\n- ") == 4 and note.endswith(f"…and {len(notes) - 3} more.")
    assert subtitle_note(store, None) == ""


def test_saved_rules_outside_the_settings_ranges_are_not_used():
    saved = {"subtitles": {"line_chars": 10**9, "cue_seconds": 1e306, "max_chars_per_second": 1e-306,
                           "min_cue_seconds": float("nan"), "min_gap_seconds": -1}}
    assert WriterOptions.from_metadata(saved, DEFAULT_OPTIONS) == DEFAULT_OPTIONS
