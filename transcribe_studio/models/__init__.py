"""The models: one spec each (:mod:`.spec`), their loaders, the cache that keeps them, and their setup.

Importing this package registers the built-in models, in the order the page and
the CLI offer them: Parakeet first (fast, local, the default), then Canary-Qwen, then
Parakeet v3 and Canary-1B-v2 (other languages and translation; set up only when asked).
"""

# The import order is the order of the choices.
from . import parakeet  # noqa: I001 - registers Parakeet
from . import canary  # noqa: F401 - registers Canary-Qwen
from . import parakeet_v3  # noqa: F401 - registers Parakeet v3 (optional in setup)
from . import canary_v2  # noqa: F401 - registers Canary-1B-v2 (optional in setup)
from . import diarizer  # noqa: F401 - registers the speaker diarizer (not a transcriber)
from .cache import ModelCache, ModelRow, ModelState, ModelStatus
from .spec import ModelSpec, all_specs, answerers, diarizers, get, register, transcribers

PARAKEET = parakeet.SPEC.key
CANARY = canary.SPEC.key
DEFAULT_MODEL = PARAKEET

__all__ = ["ModelCache", "ModelRow", "ModelSpec", "ModelState", "ModelStatus", "all_specs", "answerers", "diarizers",
           "get", "register",
           "transcribers", "PARAKEET", "CANARY", "DEFAULT_MODEL"]
