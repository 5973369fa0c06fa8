"""How well each model hears *your* recordings: word and character error rates against references you wrote,
and speed, per model and per file (``python -m transcribe_studio.evaluate FOLDER``, :mod:`..commands.evaluate`).
Nothing leaves the machine."""

from .compare import FileScore, ModelScore, compare
from .pairs import Pair, find_pairs, pair_files
from .scoring import Errors, differences, errors, normalised

__all__ = ["Errors", "FileScore", "ModelScore", "Pair", "compare", "differences", "errors", "find_pairs",
           "normalised", "pair_files"]
