"""Where to set the threshold of the words to check: word confidences of words heard right and heard wrong.

    python -m benchmarks.confidence --data FOLDER --out DIR [--model KEY] [--device cpu|cuda] [--nemo FILE]

``--data`` holds recordings with a ``.txt`` of what is said in each, named alike (as the Compare tab and
``python -m transcribe_studio.evaluate`` take them). Each recording is transcribed by the app
(``engine.transcribe``, word confidence as the app sets it); its words are lined up with the reference's
(lower case, punctuation dropped); a word in an equal run is *right*, any other *wrong*. For each threshold
from 0.05 to 0.95 it reports the share of all words marked, the share of the wrong words marked (recall) and
the share of marked words that are wrong (precision); the threshold with the best F1 is the suggestion.

Meaningful only with the real weights on real speech: random weights give meaningless confidences (the tests
check the plumbing, not the values). ``confidence.json`` and ``confidence.md`` go to ``--out``.
"""

from __future__ import annotations

import argparse
import sys
from difflib import SequenceMatcher
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import common  # noqa: E402

THRESHOLDS = [round(0.05 * k, 2) for k in range(1, 20)]


def scored_words(data: Path, key: str, device: str, nemo: Path | None) -> list[tuple[float, bool]]:
    """(confidence, heard right) of every word the model scored, over every recording of ``data``."""
    from transcribe_studio.evaluate.pairs import find_pairs
    from transcribe_studio.media.decode import decode_audio
    from transcribe_studio.models import ModelCache, get
    from transcribe_studio.settings import Settings
    from transcribe_studio.transcription import engine

    pairs, _ = find_pairs(data)
    path_setting = next((o.name for o in get(key).options if o.name.endswith("_path")), None)
    settings = Settings(device=device, **({path_setting: nemo} if nemo and path_setting else {}))
    cache, found = ModelCache(settings), []
    for pair in pairs:
        transcript = engine.transcribe(cache, key, decode_audio(pair.audio), options=engine.Options())
        found += labelled(transcript.words, pair.reference)
    return found


def labelled(words, reference: str) -> list[tuple[float, bool]]:
    """Each scored word with whether it lines up, unchanged, with a word of ``reference``."""
    from transcribe_studio.transcription.align import normalise

    heard = [normalise(w.text) for w in words]
    said = [normalise(w) for w in reference.split()]
    right = set()
    for tag, i1, i2, _, _ in SequenceMatcher(None, heard, said, autojunk=False).get_opcodes():
        if tag == "equal":
            right.update(range(i1, i2))
    return [(w.confidence, i in right) for i, w in enumerate(words) if w.confidence is not None]


def thresholds(found: list[tuple[float, bool]]) -> list[dict]:
    wrong = sum(not ok for _, ok in found) or 1
    rows = []
    for threshold in THRESHOLDS:
        marked = [ok for c, ok in found if c < threshold]
        caught = sum(not ok for ok in marked)
        recall, precision = caught / wrong, caught / len(marked) if marked else 0.0
        f1 = 2 * recall * precision / (recall + precision) if recall + precision else 0.0
        rows.append({"threshold": threshold, "marked_share": round(len(marked) / max(len(found), 1), 3),
                     "wrong_caught": round(recall, 3), "marked_wrong": round(precision, 3), "f1": round(f1, 3)})
    return rows


def summary(found: list[tuple[float, bool]]) -> dict:
    right = [c for c, ok in found if ok]
    wrong = [c for c, ok in found if not ok]
    rows = thresholds(found)
    return {"words": len(found), "wrong": len(wrong),
            "mean_right": round(sum(right) / len(right), 3) if right else None,
            "mean_wrong": round(sum(wrong) / len(wrong), 3) if wrong else None,
            "suggested_threshold": max(rows, key=lambda r: r["f1"])["threshold"] if wrong else None,
            "thresholds": rows}


def report(result: dict) -> str:
    lines = [f"{result['words']} words scored, {result['wrong']} heard wrong; mean confidence right "
             f"{result['mean_right']}, wrong {result['mean_wrong']}; suggested threshold "
             f"{result['suggested_threshold']}.", "",
             "| threshold | words marked | wrong words caught | marked words wrong | F1 |", "|---|---|---|---|---|"]
    lines += [f"| {r['threshold']} | {r['marked_share']:.0%} | {r['wrong_caught']:.0%} | {r['marked_wrong']:.0%} | "
              f"{r['f1']} |" for r in result["thresholds"]]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="recordings with a .txt reference each")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--model", default="parakeet")
    parser.add_argument("--nemo", type=Path, default=None, help="the model's .nemo file, if not the usual one")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    result = {"model": args.model, "device": args.device,
              **summary(scored_words(args.data, args.model, args.device, args.nemo))}
    args.out.mkdir(parents=True, exist_ok=True)
    common.write_report(args.out, "confidence", result, report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
