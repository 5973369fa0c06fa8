"""Start the local NeMo transcription studio: ``python transcribe_ui.py``.

Checks that the Parakeet model file is in place (run ``python setup_local_models.py``
once first), then serves the app on http://127.0.0.1:7860. ``--help`` lists the options.
"""

import sys

from transcribe_studio.app import main

if __name__ == "__main__":
    sys.exit(main())
