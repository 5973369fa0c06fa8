"""A local, private transcription studio on NVIDIA NeMo.

Data flows one way, and the folders follow it: a media file -> :mod:`.media`
(16 kHz mono float32, cut at pauses) -> a model from :mod:`.models`' cache ->
:mod:`.transcription` (windows, passes, merges, word timings, speakers) -> a
:class:`Transcript` -> :mod:`.outputs` (one writer per format, the History) ->
the page (:mod:`.app`) and the commands (:mod:`.commands`). :mod:`.archive` runs the
same transcription over an archive on Ray, beside the page as another way in;
:mod:`.live` captions speech as it comes (a model from the cache, in NeMo's
streaming pipeline), and :mod:`.evaluate` measures the models on a person's own
recordings.

The names a script needs are here (the README has a five-line example)::

    from transcribe_studio import ModelCache, Settings, decode_audio, transcribe, transcribers

    cache = ModelCache(Settings())  # a model loads on first use and stays loaded
    key = transcribers()[0].key     # or any of --model's choices
    print(transcribe(cache, key, decode_audio("meeting.mp3")).text)
"""

import os

# Private by default: no usage statistics leave the machine. Set before gradio
# or huggingface_hub are imported, since both read these at import time.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from .errors import StudioError  # noqa: E402
from .media.decode import decode_audio  # noqa: E402
from .models import ModelCache, transcribers  # noqa: E402
from .outputs.history import read_transcript  # noqa: E402
from .outputs.writers import get_writer, write_outputs  # noqa: E402
from .settings import Settings  # noqa: E402
from .transcription.batch import run_batch, transcribe_file  # noqa: E402
from .transcription.engine import Options, transcribe  # noqa: E402
from .transcription.transcript import Segment, Transcript, Word  # noqa: E402

__all__ = ["ModelCache", "Options", "Segment", "Settings", "StudioError", "Transcript", "Word", "decode_audio",
           "get_writer", "read_transcript", "run_batch", "transcribe", "transcribe_file", "transcribers",
           "write_outputs"]
