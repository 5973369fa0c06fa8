"""Live captions: speech in, words out within about two seconds, with NeMo's own streaming pipeline around the
model the cache holds (:mod:`.pipeline`), for several streams at once (:mod:`.streams`)."""

from .pipeline import LiveOptions
from .streams import Caption, LiveStreams, to_16k

__all__ = ["Caption", "LiveOptions", "LiveStreams", "to_16k"]
