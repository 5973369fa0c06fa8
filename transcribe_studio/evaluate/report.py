"""What a comparison found, for people: a table of each model's rates and speed, each model's worst files with their
differences from the reference (console text or page HTML), and a CSV of every file's figures and both texts."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ..files import atomic_write_text, make_dirs
from ..formatting import duration_text
from ..outputs.writers import spreadsheet_cell
from .compare import ModelScore
from .scoring import differences, differences_html

WORST_SHOWN = 5


def table(scores: list[ModelScore]) -> str:
    lines = ["| model | WER | CER | files | audio | speed (x real time) | load |", "|---|---|---|---|---|---|---|"]
    for score in scores:
        if score.problem:
            lines.append(f"| {score.label} | not measured (below) | | | | | |")
            continue
        total = score.total
        audio = sum(f.seconds for f in score.scored)
        lines.append(f"| {score.label} | {total.wer:.1%} | {total.cer:.1%} | {len(score.scored)} of "
                     f"{len(score.files)} | {duration_text(audio)} | {score.speed:.1f} | {score.load_seconds:.1f} s |")
    return "\n".join(lines)


def worst(scores: list[ModelScore]) -> str:
    """Each model's files with the most errors, their differences from the reference shown."""
    lines = [f"\n{score.label} was not measured: {score.problem}" for score in scores if score.problem]
    for score in (s for s in scores if not s.problem):
        ranked = _worst_files(score)
        lines.append(f"\n{score.label}: the {len(ranked)} file(s) with the highest WER "
                     "([said→heard], [-missed], [+added])")
        lines += [f"  {f.errors.wer:6.1%}  {f.audio.name}: {differences(f.reference, f.hypothesis)}" for f in ranked]
        lines += [f"  failed  {f.audio.name}: {f.problem}" for f in score.files if f.problem]
    return "\n".join(lines)


def write_csv(path: Path, scores: list[ModelScore], paths: bool = True) -> Path:
    """Every file's figures and both texts; ``paths`` False: the files by name (uploads sit in the app's own
    folders, which a person never chose)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["model", "file", "audio_seconds", "reference_words", "wer", "cer", "substitutions",
                     "deletions", "insertions", "reference", "hypothesis", "problem"])
    for score in scores:
        for f in score.files:
            e, name = f.errors, str(f.audio) if paths else f.audio.name
            writer.writerow([score.key, spreadsheet_cell(name), f"{f.seconds:.2f}", e.words, f"{e.wer:.4f}",
                             f"{e.cer:.4f}", e.substitutions, e.deletions, e.insertions,
                             *(spreadsheet_cell(text) for text in (f.reference, f.hypothesis, f.problem))])
    make_dirs(path.parent)
    return atomic_write_text(path, out.getvalue())


def worst_html(scores: list[ModelScore]) -> str:
    """:func:`worst` for a page: each model's worst files, what was missed struck through and what was heard
    instead underlined; every text escaped."""
    from html import escape

    parts = [f"<p><strong>{escape(s.label)}</strong> was not measured: {escape(s.problem)}</p>"
             for s in scores if s.problem]
    for score in (s for s in scores if not s.problem):
        ranked = _worst_files(score)
        parts.append(f"<h4>{escape(score.label)}: the {len(ranked)} file(s) with the highest WER</h4><ul>")
        parts += [f"<li><strong>{f.errors.wer:.1%}</strong> {escape(f.audio.name)}: "
                  f"{differences_html(f.reference, f.hypothesis)}</li>" for f in ranked]
        parts += [f"<li>failed {escape(f.audio.name)}: {escape(f.problem)}</li>" for f in score.files if f.problem]
        parts.append("</ul>")
    return "".join(parts)


def _worst_files(score: ModelScore) -> list:
    return sorted(score.scored, key=lambda f: (-f.errors.wer, str(f.audio)))[:WORST_SHOWN]
