"""A fault injected into the Ray workers of the archive tests (installed in every worker of the tests' Ray).

A window of exactly :data:`KILLER_SAMPLES` samples makes the transcribing worker's process exit, as a file that
crashes the GPU driver would; a file named :data:`DECODER_KILLER` makes the decoding worker's exit, as one that
crashes FFmpeg would: a real run, with one fault in it. No other test makes such files.
"""

import os
from dataclasses import replace

KILLER_SECONDS = 1.2345
KILLER_SAMPLES = round(KILLER_SECONDS * 16000)
DECODER_KILLER = "crashes-the-decoder.wav"


def install() -> None:
    from transcribe_studio.models import get, spec

    parakeet = get("parakeet")
    transcribe_batch = parakeet.transcribe_batch

    def killing(model, pieces, settings):
        if any(len(piece) == KILLER_SAMPLES for piece in pieces):
            os._exit(3)
        return transcribe_batch(model, pieces, settings)
    spec.register(replace(parakeet, transcribe_batch=killing))

    from transcribe_studio.archive import stages

    decode_audio = stages.decode_audio

    def killing_decoder(path, **kwargs):
        if str(path).endswith(DECODER_KILLER):
            os._exit(3)
        return decode_audio(path, **kwargs)
    stages.decode_audio = killing_decoder
