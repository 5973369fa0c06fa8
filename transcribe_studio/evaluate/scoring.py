"""Word and character error rates, as the Open ASR Leaderboard computes them: both texts normalised (Whisper's
English normaliser for English, its basic multilingual one otherwise), then compared with jiwer.

Rates over several files are the errors summed over the words (or characters) summed, not an average of
per-file rates, so a long file weighs as much as its words.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Callable

import jiwer

NORMALISERS = {"en": "Whisper's English normaliser (as the Open ASR Leaderboard: spellings, numbers, contractions)",
               "other": "Whisper's basic multilingual normaliser (case, punctuation and symbols removed)"}


@cache
def normaliser(language: str) -> Callable[[str], str]:
    if language == "en":
        from whisper_normalizer.english import EnglishTextNormalizer

        return EnglishTextNormalizer()
    from whisper_normalizer.basic import BasicTextNormalizer

    return BasicTextNormalizer()


def normaliser_name(language: str) -> str:
    return NORMALISERS["en" if language == "en" else "other"]


@dataclass(frozen=True)
class Errors:
    """Edits from a reference to a hypothesis, in words and in characters."""
    words: int = 0           # in the reference
    word_errors: int = 0     # substitutions + deletions + insertions
    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0
    characters: int = 0      # in the reference
    character_errors: int = 0

    @property
    def wer(self) -> float:
        return self.word_errors / self.words if self.words else 0.0

    @property
    def cer(self) -> float:
        return self.character_errors / self.characters if self.characters else 0.0

    def __add__(self, other: "Errors") -> "Errors":
        return Errors(*(a + b for a, b in zip(self._counts(), other._counts())))

    def _counts(self) -> tuple[int, ...]:
        return (self.words, self.word_errors, self.substitutions, self.deletions, self.insertions, self.characters,
                self.character_errors)


def normalised(text: str, language: str) -> str:
    return " ".join(normaliser(language)(text).split())


def errors(reference: str, hypothesis: str) -> Errors:
    """The edits between two normalised texts; the reference must hold a word."""
    words = jiwer.process_words(reference, hypothesis)
    characters = jiwer.process_characters(reference, hypothesis)
    return Errors(len(reference.split()), words.substitutions + words.deletions + words.insertions,
                  words.substitutions, words.deletions, words.insertions, len(reference),
                  characters.substitutions + characters.deletions + characters.insertions)


CONTEXT_WORDS = 3  # words kept on each side of a difference; longer agreeing stretches are cut to "…"
MOST_DIFFERENCES = 12  # shown a file: an hour's transcript must not fill the console
MOST_WORDS_IN_ONE = 8  # words shown of one long difference


def differences(reference: str, hypothesis: str) -> str:
    """The hypothesis against the reference, one line: ``[said→heard]``, ``[-missed]``, ``[+added]``, with a few
    words of agreement around each; at most :data:`MOST_DIFFERENCES` of them (the CSV has both texts whole)."""
    marks = {"substitute": "[{said}→{heard}]", "delete": "[-{said}]", "insert": "[+{heard}]", "equal": "{said}",
             "more": "… and {said}"}
    return " ".join(marks[kind].format(said=said, heard=heard) for kind, said, heard in _chunks(reference, hypothesis)
                    if said or heard)


def differences_html(reference: str, hypothesis: str) -> str:
    """:func:`differences` for a page: what was missed struck through, what was heard instead or added
    underlined (``<del>``, ``<ins>``, which screen readers announce), every text escaped."""
    from html import escape

    marks = {"substitute": "<del>{said}</del> <ins>{heard}</ins>", "delete": "<del>{said}</del>",
             "insert": "<ins>{heard}</ins>", "equal": "{said}", "more": "<em>… and {said}</em>"}
    return " ".join(marks[kind].format(said=escape(said), heard=escape(heard))
                    for kind, said, heard in _chunks(reference, hypothesis) if said or heard)


def _chunks(reference: str, hypothesis: str):
    """(kind, said, heard) along the alignment of the two texts: agreement cut to its context, at most
    :data:`MOST_DIFFERENCES` differences, then a "more" saying how many are left."""
    out = jiwer.process_words(reference, hypothesis or "")
    said, heard = out.references[0], out.hypotheses[0]
    chunks = out.alignments[0]
    shown = 0
    for index, chunk in enumerate(chunks):
        if chunk.type == "equal":
            yield "equal", _agreeing(said[chunk.ref_start_idx:chunk.ref_end_idx], index > 0,
                                     index < len(chunks) - 1), ""
            continue
        if shown == MOST_DIFFERENCES:
            left = sum(1 for c in chunks[index:] if c.type != "equal")
            yield "more", f"{left} more difference{'s' if left > 1 else ''}", ""
            return
        shown += 1
        yield (chunk.type, _words(said[chunk.ref_start_idx:chunk.ref_end_idx]),
               _words(heard[chunk.hyp_start_idx:chunk.hyp_end_idx]))


def _agreeing(words: list[str], after: bool, before: bool) -> str:
    """Words both texts share, cut to the context a difference beside them needs."""
    if len(words) <= 2 * CONTEXT_WORDS + 1:
        return " ".join(words)
    head = words[:CONTEXT_WORDS] if after else []
    tail = words[-CONTEXT_WORDS:] if before else []
    return " ".join([*head, "…", *tail])


def _words(words: list[str]) -> str:
    if len(words) <= MOST_WORDS_IN_ONE:
        return " ".join(words)
    return " ".join(words[:MOST_WORDS_IN_ONE]) + f" …({len(words) - MOST_WORDS_IN_ONE} more words)"
