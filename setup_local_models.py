"""One-time setup: download and verify the models so the app runs offline.

``python setup_local_models.py`` fetches the Parakeet ``.nemo`` file into
``local_models/`` and Canary-Qwen (with its pinned Qwen tokenizer) into the
Hugging Face cache. ``--check`` only verifies; ``--help`` lists the options.
"""

import sys

from transcribe_studio.commands.setup import main

if __name__ == "__main__":
    sys.exit(main())
