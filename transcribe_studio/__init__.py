"""A local, private transcription studio on NVIDIA NeMo (Parakeet-TDT and Canary-Qwen).

Data flows one way: media file -> :mod:`.media` (16 kHz mono float32) ->
:mod:`.engine` (model from :mod:`.models`' cache) -> :mod:`.transcript` (segments,
words, speakers) -> :mod:`.outputs` (writers, History) -> :mod:`.app` and :mod:`.cli`.
"""

import os

# Private by default: no usage statistics leave the machine. Set before gradio
# or huggingface_hub are imported, since both read these at import time.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
