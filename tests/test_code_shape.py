"""The code's shape, in ``transcribe_studio/``, ``benchmarks/`` and ``tests/``.

* No function is over 80 lines: each should read at a glance.
* Comments and docstrings say why the code is as it is. The story of how it got there
  belongs in git; a reader of the code needs the reasons that hold today. ``HISTORY``
  lists the phrases that give such a story away, each with the reason it is flagged.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("transcribe_studio", "benchmarks", "tests")
MAX_FUNCTION_LINES = 80

# (pattern, why it is flagged). Case-insensitive; matched in each comment block and docstring with its
# lines joined, after references to other projects' trackers ("NVIDIA/NeMo#14107, #15145") are removed.
HISTORY = (
    ((r"\bno longer (?:needs?|needed|used|uses?|required|requires?|supported|supports?|exists?|necessary|called"
      r"|calls?|raises?|returns?|works?|does|do|has|have|happens?|appl(?:y|ies)|matters?|the case|imports?|imported)\b"),
     ("'no longer <does>' tells what the code did before; say what it does and why ('no longer waiting' about "
      "a state at run time is fine)")),
    (r"\bused to be\b|\b(?:we|it|this|they|which|that|who) used to\b",
     "'used to' tells the past ('the key used to sign' and 'is used to' are fine)"),
    (r"\bformerly\b|(?<!\bthe )(?<!\ba )(?<!\ban )(?<!\bits )(?<!\btheir )(?<!\bany )\bpreviously\b",
     "'previously'/'formerly' point at an earlier version of the code ('the previously loaded model' is fine)"),
    (r"\b(?:was|were|has been|have been) changed (?:to|from)\b",
     "'was changed to/from' narrates an edit"),
    (r"\bnow instead\b|\binstead now\b|\bwas\b[^.;:!?]{1,60}?,\s+now\b",
     "'was X, now Y' / 'now instead' compares with an older version"),
    (r"\bthe old (?:code|version|behaviou?r|way|module|implementation|approach|api|design|helper|function)s?\b",
     "'the old <code>' refers to a version that is gone ('the old file' of an atomic replace is fine)"),
    (r"\bissues?\s+#?\d+|\(#\d+\)|\b(?:PR|pull request)\s*#\d+",
     "an issue or PR number of this project: say the reason it stands for"),
)
# Another project's tracker ("NVIDIA/NeMo#14107, #15145", "NVIDIA/NeMo issue 12") is a reference, not a story.
UPSTREAM_REFERENCE = re.compile(r"\b[\w.-]+/[\w.-]+(?:#\d+|\s+(?:issue|PR)\s+#?\d+)(?:,\s*#\d+)*", re.IGNORECASE)
_HISTORY = [(re.compile(pattern, re.IGNORECASE), why) for pattern, why in HISTORY]


def _sources() -> list[Path]:
    return sorted(path for folder in FOLDERS for path in (ROOT / folder).rglob("*.py")
                  if not any(part.startswith(".") for part in path.relative_to(ROOT).parts))


def _functions(tree: ast.AST):
    return [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]


def test_no_function_is_over_80_lines():
    long = [f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for path in _sources() for node in _functions(ast.parse(path.read_text(encoding="utf-8")))
            if node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, (f"functions over {MAX_FUNCTION_LINES} lines (split them into well-named steps):\n"
                      + "\n".join(long))


# --- comments and docstrings ---------------------------------------------------------------------------

def _docstrings(tree: ast.AST):
    """(first line, text) of every module, class and function docstring."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str)):
                yield first.value.lineno, first.value.value


def _comment_blocks(source: str):
    """(first line, text) of each run of whole-line comments on consecutive lines, and of each trailing comment."""
    block: list[tuple[int, str]] = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type != tokenize.COMMENT:
            continue
        line, text = token.start[0], token.string.lstrip("#")
        whole_line = not token.line[:token.start[1]].strip()
        if block and whole_line and line == block[-1][0] + 1:
            block.append((line, text))
            continue
        if block:
            yield block[0][0], "\n".join(text for _, text in block)
        block = [(line, text)]
        if not whole_line:
            yield block[0][0], text
            block = []
    if block:
        yield block[0][0], "\n".join(text for _, text in block)


def _one_line(text: str) -> tuple[str, list[int]]:
    """``text`` with each run of white space (line breaks and indents too) one space, and each character's line."""
    chars, lines, line = [], [], 0
    for match in re.finditer(r"\s+|\S", text):
        chars.append(" " if match.group().isspace() else match.group())
        lines.append(line)
        line += match.group().count("\n")
    return "".join(chars), lines


def history_in(text: str) -> list[tuple[int, str, str]]:
    """(line offset, the words, why) for every phrase of ``HISTORY`` in ``text``, a phrase split over lines too."""
    flat, lines = _one_line(text)
    flat = UPSTREAM_REFERENCE.sub(lambda m: " " * len(m.group()), flat)
    return [(lines[match.start()], match.group(), why)
            for pattern, why in _HISTORY for match in pattern.finditer(flat)]


def test_comments_say_why_not_what_used_to_be():
    offenders = []
    for path in _sources():
        source = path.read_text(encoding="utf-8")
        passages = [*_docstrings(ast.parse(source)), *_comment_blocks(source)]
        offenders += [(str(path.relative_to(ROOT)), first_line + offset, words, why)
                      for first_line, text in passages for offset, words, why in history_in(text)]
    assert not offenders, ("comments that tell the code's history rather than why it is so (git keeps the "
                           "history):\n" + "\n".join(f"{path}:{line}: {words!r}: {why}"
                                                      for path, line, words, why in sorted(offenders)))


@pytest.mark.parametrize("text", [
    "This no longer raises: the caller checks first.",
    "The cache is no longer needed here.",
    "They used to leave folders in /tmp.",
    "It used to read the whole file.",
    "the limit was 30 s, now 40 s",
    "We now instead ask the model.",
    "Previously we forked here.",
    "This previously raised.",
    "The window was changed to 40 s for Canary.",
    "the old code read it twice",
    "see issue 12", "(issue #12)", "as issues 13 and 14 ask", "keeps the order (#12)",
    "A long\nline that says it no\nlonger works",
    " a comment block that says it no\n longer works",
    "a docstring that says it no\n        longer works",
])
def test_the_history_rules_catch(text):
    assert history_in(text), text


@pytest.mark.parametrize("text", [
    "NeMo falls back by itself only for some combinations (NVIDIA/NeMo#14107, #15145).",
    "as NVIDIA/NeMo issue 123 reports",
    "forget those no longer waiting, so memory stays small",
    "their gap is no longer silence, so nothing is skipped there",
    "the exports could then no longer tell them apart",
    "windows no longer than 40 s",
    "the tokenizer used to split the text",
    "the key that is used to sign it",
    "the speaker was not found, so the transcript stands",
    "the time was interpolated, not heard",
    "unloads the previously loaded model first",
    "a reader sees the old file or the new one, never half of one",
    "each result is yielded once it is ready; a second pass tells what was heard",
])
def test_the_history_rules_leave_why_comments_alone(text):
    assert not history_in(text), history_in(text)
