"""A picture of the recording above the transcript: its waveform, who speaks when, the words to check and the
stretches left out, with a playhead; a click plays from there.

Why it is drawn this way:

* **One inline SVG, the same size for any length.** Everything is laid on a grid of :data:`WIDTH` columns (a
  ``viewBox`` stretched to the page's width): the waveform is one path through the envelope's column peaks
  (:mod:`..media.envelope`, never the samples); speaker turns, uncertain words and skipped stretches are counted
  per column first, so a two-hour recording with thousands of segments and words draws at most one band or mark
  per column. Consecutive columns of one speaker (or one reason to skip) are one band.
* **Bands are strokes.** A band is ``M<x> 40h<width>`` on a path whose stroke is as tall as the picture: about
  ten characters each, one path per speaker (its ``<title>`` names the speaker on hover), one per reason
  for skipping (its ``<title>`` says why, how many stretches and how long).
* **Readable in light and dark themes:** the waveform takes the page's text colour (Gradio's CSS variables, with
  fallbacks), the speakers a colour-blind-safe palette (Okabe and Ito's) at low opacity, the skipped stretches
  grey, the marks and playhead solid colours that read on either background. Lines keep their width in pixels
  (``vector-effect: non-scaling-stroke``) however wide the page is.
* **Accessibility:** the picture is ``role="img"`` with a label that sums it up ("2 speakers, 14 words to
  check"); clicking it is a shortcut, the player below it seeks, plays and pauses from the keyboard.
* **Click to seek** sets the player's time to the clicked fraction of the picture's timeline; **the playhead**
  moves with one attribute change per ``timeupdate`` (:data:`PLAYHEAD_JS`, run in the player's handler).
"""

from __future__ import annotations

import html
import math
from typing import Iterable, Sequence

import numpy as np

from ..formatting import duration_text
from ..media.envelope import LEVELS, Envelope
from ..transcription.transcript import speaker_order

# the SVG and its playhead (the page's own container of the picture is layout.PICTURE_ID, "recording-picture")
SVG_ID, PLAYHEAD_ID = "recording-waveform", "recording-playhead"
PLAYER_ID = "recording-player"  # the <audio> it seeks: views.PLAYER_ID (views draws the picture: no import back)
WIDTH, HEIGHT = 1200, 80  # the viewBox: one unit a column across, one a pixel down
MIDDLE, REACH = HEIGHT // 2, HEIGHT // 2 - 2  # the waveform's axis, and how far its loudest column reaches
MARK_HEIGHT = 14  # an uncertain word's tick, down from the top
# Okabe & Ito's colour-blind-safe colours, and Tol's olive: vermillion is left for the marks, and their black and
# yellow each vanish on one of the two themes.
SPEAKER_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#999933")
SPEAKER_OPACITY = 0.28
MARK_COLOUR, SKIPPED_COLOUR = "#D55E00", "#808080"
# The theme's text colours (a CSS variable works in a style, not in an SVG attribute): dark on light, light on dark.
WAVE_COLOUR, PLAYHEAD_COLOUR = "var(--body-text-color-subdued, #6b7280)", "var(--body-text-color, #1f2937)"
WAVE_OPACITY = 0.8  # the speakers' bands show through the loudest stretches

# Moves the playhead to the player's time; run with ``this`` the <audio> (its ``ontimeupdate``), in a block so
# its names never meet the handler's own. The picture's timeline is its data-duration.
PLAYHEAD_JS = (f"{{ const head = document.getElementById('{PLAYHEAD_ID}');"
               "if (head) { const d = +head.getAttribute('data-duration');"
               f"if (d > 0) head.setAttribute('transform', 'translate(' + Math.min(this.currentTime / d, 1) * {WIDTH}"
               " + ' 0)'); } }")


def _seek_js(duration: float) -> str:
    """The picture's onclick: the clicked fraction of its width, as a time on its timeline, played from."""
    return (f"const box = this.getBoundingClientRect(), player = document.getElementById('{PLAYER_ID}');"
            "if (player && box.width > 0) {"
            "const fraction = Math.min(Math.max((event.clientX - box.left) / box.width, 0), 1);"
            f"player.currentTime = fraction * {duration:.3f}; player.play(); }}")


def picture_html(envelope: Envelope | None, duration: float, segments: Iterable[tuple[float, float, str | None]],
                 words_uncertain: Iterable[float], skipped: Iterable[tuple[float, float, str]],
                 speaker_names: dict[str, str] | None = None) -> str:
    """The picture of a recording of ``duration`` seconds (else the envelope's) as an inline SVG; "" when there
    is no length to draw.

    ``envelope``: its loudness (None: no waveform, the rest is still drawn); ``segments``: (start, end, speaker
    label or None); ``words_uncertain``: the start of each word to check; ``skipped``: (start, end, why);
    ``speaker_names``: label -> the name a person gave it.
    """
    timeline = duration if duration and duration > 0 else (envelope.duration if envelope else 0.0)
    if not timeline or not math.isfinite(timeline):
        return ""
    segments, words_uncertain, skipped = list(segments), list(words_uncertain), list(skipped)
    bands, speakers = _speaker_bands(segments, timeline, speaker_names or {})
    marks = _marks(words_uncertain, timeline)
    parts = [*_skipped_bands(skipped, timeline), *bands, _waveform(envelope, timeline), marks,
             f'<path id="{PLAYHEAD_ID}" data-duration="{timeline:.3f}" d="M0 0v{HEIGHT}" '
             f'style="stroke: {PLAYHEAD_COLOUR}" stroke-width="2" vector-effect="non-scaling-stroke"/>']
    label = _label(timeline, speakers, len(words_uncertain), len(skipped))
    return (f'<svg id="{SVG_ID}" role="img" aria-label="{html.escape(label)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
            f'preserveAspectRatio="none" width="100%" height="{HEIGHT}" '
            f'style="display: block; cursor: pointer; color: {WAVE_COLOUR}" '
            f'onclick="{html.escape(_seek_js(timeline))}">{"".join(p for p in parts if p)}</svg>')


def _label(timeline: float, speakers: int, uncertain: int, skipped: int) -> str:
    """What the picture shows, said in words: "Waveform of the recording (1 h 02 min 03 s): 2 speakers, ..."."""
    said = [f"{speakers} speaker{'s' if speakers != 1 else ''}" if speakers else "",
            f"{uncertain} word{'s' if uncertain != 1 else ''} to check" if uncertain else "",
            f"{skipped} stretch{'es' if skipped != 1 else ''} not transcribed" if skipped else ""]
    summary = ", ".join(s for s in said if s)
    return f"Waveform of the recording ({duration_text(timeline)})" + (f": {summary}" if summary else "")


def _column_of(seconds: float, timeline: float) -> int:
    return min(max(int(seconds / timeline * WIDTH), 0), WIDTH - 1)


def _coverage(spans: Iterable[tuple[float, float]], timeline: float) -> np.ndarray:
    """How much of each column (a fraction of it) the spans cover together."""
    covered = np.zeros(WIDTH)
    edges = np.arange(WIDTH + 1) * (timeline / WIDTH)
    for start, end in spans:
        if not end > start:
            continue
        first, last = _column_of(start, timeline), _column_of(end, timeline)
        overlap = np.minimum(end, edges[first + 1:last + 2]) - np.maximum(start, edges[first:last + 1])
        covered[first:last + 1] += np.clip(overlap, 0.0, None)
    return covered / (timeline / WIDTH)


def _runs(columns: Sequence) -> list[tuple[object, int, int]]:
    """(value, first column, count) for each run of equal values, None runs left out."""
    found, start = [], 0
    for i in range(1, len(columns) + 1):
        if i == len(columns) or columns[i] != columns[start]:
            if columns[start] is not None:
                found.append((columns[start], start, i - start))
            start = i
    return found


def _band_path(runs: Iterable[tuple[int, int]], colour: str, opacity: float, title: str) -> str:
    """Bands as one path: each a stroke as tall as the picture from its first column along its count."""
    d = "".join(f"M{first} {MIDDLE}h{count}" for first, count in runs)
    return (f'<path d="{d}" stroke="{colour}" stroke-opacity="{opacity}" stroke-width="{HEIGHT}" fill="none">'
            f'<title>{html.escape(title)}</title></path>') if d else ""


def _speaker_bands(segments: list[tuple[float, float, str | None]], timeline: float,
                   names: dict[str, str]) -> tuple[list[str], int]:
    """One path per speaker, each column going to the speaker who covers most of it; and how many speakers."""
    labels = sorted({label for _, _, label in segments if label}, key=speaker_order)
    if not labels:
        return [], 0
    covered = np.stack([_coverage(((s, e) for s, e, who in segments if who == label), timeline) for label in labels])
    owner = [int(i) if c > 0 else None for i, c in zip(covered.argmax(axis=0), covered.max(axis=0))]
    runs = _runs(owner)
    paths = [_band_path(((first, count) for who, first, count in runs if who == i),
                        SPEAKER_COLOURS[i % len(SPEAKER_COLOURS)], SPEAKER_OPACITY, names.get(label, label))
             for i, label in enumerate(labels)]
    return paths, len(labels)


def _skipped_bands(skipped: list[tuple[float, float, str]], timeline: float) -> list[str]:
    """One grey path per reason, over the columns mostly left out for it (a stretch under half a column is too
    thin to see)."""
    paths = []
    for why in dict.fromkeys(why for _, _, why in skipped):
        spans = [(s, e) for s, e, w in skipped if w == why]
        shaded = [True if c >= 0.5 else None for c in _coverage(spans, timeline)]
        total = sum(max(e - s, 0.0) for s, e in spans)
        title = (f"Not transcribed: {why or 'left out'} ({len(spans)} stretch{'es' if len(spans) != 1 else ''}, "
                 f"{duration_text(total)})")
        paths.append(_band_path(((first, count) for _, first, count in _runs(shaded)), SKIPPED_COLOUR, 0.35, title))
    return paths


def _marks(starts: list[float], timeline: float) -> str:
    """A tick at the top of each column holding a word to check (one however many words it holds)."""
    columns = sorted({_column_of(t, timeline) for t in starts if math.isfinite(t)})
    if not columns:
        return ""
    # the first tick absolute, then each from the foot of the one before: "m<columns on>-14v14"
    d = f"M{columns[0]}.5 0v{MARK_HEIGHT}" + "".join(f"m{b - a}-{MARK_HEIGHT}v{MARK_HEIGHT}"
                                                     for a, b in zip(columns, columns[1:]))
    title = f"{len(starts)} word{'s' if len(starts) != 1 else ''} to check"
    return (f'<path d="{d}" stroke="{MARK_COLOUR}" stroke-width="2" vector-effect="non-scaling-stroke">'
            f'<title>{title}</title></path>')


def _waveform(envelope: Envelope | None, timeline: float) -> str:
    """The envelope mirrored about the axis as one filled path: along the top through each column's peak, back
    along the bottom; relative steps of one column keep it to a few characters a column."""
    if envelope is None or not envelope.peaks or not envelope.duration:
        return ""
    loudest = max(envelope.peaks) or LEVELS  # scaled to the loudest column: a quiet recording still shows
    heights = [round(p / loudest * REACH) for p in envelope.peaks]
    top = "".join(_step(1, a - b) for a, b in zip(heights, heights[1:]))  # y grows downwards
    back = heights[::-1]
    bottom = "".join(_step(-1, b - a) for a, b in zip(back, back[1:]))
    d = f"M0.5 {MIDDLE - heights[0]}" + (f"l{top}" if top else "") + f"v{2 * heights[-1]}"
    d += (f"l{bottom}" if bottom else "") + "z"
    across = (envelope.duration / timeline * WIDTH) / len(heights)  # picture columns per envelope column
    scale = f' transform="scale({across:.6g} 1)"' if abs(across - 1) > 1e-6 else ""
    return f'<path d="{d}" fill="currentColor" fill-opacity="{WAVE_OPACITY}"{scale}/>'


def _step(dx: int, dy: int) -> str:
    """One relative line step, as short as SVG allows: a minus sign separates two numbers, else a space does."""
    return (f"{dx}" if dx < 0 else f" {dx}") + (f"{dy}" if dy < 0 else f" {dy}")
