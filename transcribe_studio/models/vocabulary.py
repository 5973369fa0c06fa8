"""Names and terms the user wants spelled right: NeMo's GPU phrase boosting, for Parakeet.

NeMo 3.0's TDT greedy decoder can add a bonus to the tokens of given phrases while
it decodes (GPU-PB, ``asr/parts/context_biasing/boosting_graph_batched.py``),
switched on through the decoding config's ``greedy.boosting_tree`` and
``greedy.boosting_tree_alpha`` (``rnnt_decoding.py``). It needs the ``greedy_batch``
strategy (plain ``greedy`` raises NotImplementedError) and goes in through
``change_decoding_strategy``, which writes into the cached model's own config, shared
by every job: so it is applied for one job and the previous decoding config is put
back afterwards, keeping a CUDA-graph fallback that happened meanwhile.

Parakeet writes capitals, so phrases are boosted as typed: "Dana Whitfield", not
"dana whitfield" (NeMo's word-boosting guide says the same). Canary-Qwen's prompt is
fixed by its training, so a vocabulary does not apply to it; the page and the CLI
say so.
"""

from __future__ import annotations

import contextlib
import copy
import re
from pathlib import Path

from ..errors import VocabularyError

MAX_PHRASES = 1000
MAX_PHRASE_CHARS = 100
# Each arc's score in the boosting tree: NeMo's default (BoostingTreeModelConfig.context_score).
CONTEXT_SCORE = 1.0




def parse(value: str | Path | None, files: bool = True) -> list[str]:
    """Phrases from ``"a, b, c"``, from several lines, or (``files``) from a text file of one phrase per line.

    Empty input gives no phrases; anything unusable raises :class:`VocabularyError`. The page passes
    ``files=False``: what a browser types must never make the server read one of its files (under
    ``--listen`` the phrases, and so the file's lines, would come back in the transcript's notes).
    """
    if value is None or not str(value).strip():
        return []
    if files and not _is_file(value) and _names_a_file(str(value)):
        raise VocabularyError(f"The names and terms file {str(value).strip()} does not exist.")
    text = _read_file(Path(value)) if files and _is_file(value) else str(value)
    phrases = list(dict.fromkeys(p.strip() for p in text.replace("\n", ",").split(",") if p.strip()))
    for phrase in phrases:
        _check(phrase)
    if not phrases:
        raise VocabularyError("The names and terms list holds no names or terms (only commas and spaces).")
    if len(phrases) > MAX_PHRASES:
        raise VocabularyError(f"The names and terms list has {len(phrases)} entries; at most {MAX_PHRASES} are used.")
    return phrases


def _is_file(value) -> bool:
    text = str(value)
    return "\n" not in text and "," not in text and len(text) < 1024 and Path(text).expanduser().is_file()


def _names_a_file(text: str) -> bool:
    # One entry that reads as a path ("~/names.txt", "./terms", "words.txt") is a file the user meant, mistyped or
    # missing; boosting that path as a phrase would silently do nothing. "TCP/IP" or "AC/DC" stay phrases.
    return "," not in text and "\n" not in text and bool(_PATH_LIKE.search(text.strip()))


_PATH_LIKE = re.compile(r"^(~|\.{0,2}/)|\.(txt|csv|tsv|lst|list|md)$", re.IGNORECASE)


def _read_file(path: Path) -> str:
    try:
        return path.expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise VocabularyError(f"The names and terms file {path} could not be read as UTF-8 text ({exc}).") from exc


def _check(phrase: str) -> None:
    if len(phrase) > MAX_PHRASE_CHARS:
        raise VocabularyError(f"\"{phrase[:40]}...\" is {len(phrase)} characters long; a name or term may have at "
                              f"most {MAX_PHRASE_CHARS}. Separate entries with commas.")
    if any(ord(c) < 32 for c in phrase) or not any(c.isalnum() for c in phrase):
        raise VocabularyError(f"{phrase[:40]!r} is not a name or term (it has no letters or digits, or holds "
                              "control characters).")


@contextlib.contextmanager
def boosted(model, phrases: list[str], weight: float):
    """Decode with ``phrases`` boosted by ``weight`` inside the block; the model's decoding as before after it."""
    if not phrases:
        yield
        return
    from omegaconf import open_dict

    saved = copy.deepcopy(model.cfg.decoding)
    config = copy.deepcopy(saved)
    with open_dict(config):
        config.strategy = "greedy_batch"
        config.greedy.boosting_tree = {"key_phrases_list": list(phrases), "context_score": CONTEXT_SCORE}
        config.greedy.boosting_tree_alpha = float(weight)
    model.change_decoding_strategy(config, verbose=False)
    try:
        yield
    finally:
        graphs = model.cfg.decoding.greedy.get("use_cuda_graph_decoder", True)  # a fallback inside stays in force
        with open_dict(saved):
            saved.greedy.use_cuda_graph_decoder = graphs
        model.change_decoding_strategy(saved, verbose=False)
