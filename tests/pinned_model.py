"""A third model added as the README says: one module with its spec, and one ``register(SPEC)`` call.

A tiny CTC ``.nemo`` that setup downloads from the Hub at a pinned commit into
``local_models/``, with its own flags (``--tiny-ctc-nemo``...), environment
variables (``TINY_CTC_NEMO``...) and setup step, and nothing written anywhere
else in the app. The commands the tests start register it (``register(SPEC)``,
what ``models/__init__.py`` does for the built-in models); importing it alone
registers nothing, so the rest of the suite never sees it.
"""

from transcribe_studio.models.nemo_asr import nemo_asr_spec
from transcribe_studio.models.pinned import PinnedFile

REPO = "tests/tiny-ctc"
REVISION = "c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7"
FILENAME = "tiny-ctc-en.nemo"
LABEL = "Tiny-CTC-Pinned"

FILE = PinnedFile("tiny_ctc", "Tiny CTC", REPO, REVISION, FILENAME, "tiny-ctc.nemo", "TINY_CTC")

SPEC = nemo_asr_spec(
    "tiny-ctc", LABEL, "a tiny CTC model downloaded once at a pinned commit", FILE.path,
    setup=FILE.setup, check=FILE.check, options=FILE.options(),
    notes=["Downloaded once by the setup at a pinned commit, then loaded offline."])
