"""Test environment: no network, a private Hugging Face cache, tiny real NeMo models.

The HF_* variables are set before anything imports huggingface_hub, which reads
them at import time. HF_HUB_OFFLINE=1 makes any accidental download fail loudly.
"""

import os
import tempfile

_SESSION_DIR = tempfile.mkdtemp(prefix="studio-tests-")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HOME"] = os.path.join(_SESSION_DIR, "hf_home")
os.environ["HF_HUB_CACHE"] = os.path.join(_SESSION_DIR, "hf_home", "hub")
os.environ["STUDIO_LOG_FILE"] = os.path.join(_SESSION_DIR, "studio.log")
os.environ.pop("HF_TOKEN", None)
for _name in ("PARAKEET_NEMO", "CANARY_REPO", "CANARY_REVISION", "QWEN_REPO", "QWEN_REVISION", "STUDIO_DEVICE",
              "PARAKEET_REPO", "PARAKEET_REVISION", "PARAKEET_FILENAME", "PARAKEET_SHA256", "PARAKEET_SIZE"):
    os.environ.pop(_name, None)
