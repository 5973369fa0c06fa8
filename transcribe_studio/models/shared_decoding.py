"""One loaded Parakeet, two kinds of use, each with its own decoding.

File jobs rely on the decoding the model was loaded with and what they set on it (timestamps, names and terms,
NeMo's CUDA-graph decoder switched off after a fault). Live captions run NeMo's streaming pipeline, whose model
wrapper puts its own greedy decoding on the model and sets the front end's dither to zero. Both take the model
from the cache (``ModelCache.use``), one at a time; a use that is not the file jobs' (:data:`FILES`) puts its own
decoding in place for its turn and the file jobs' back after it (:func:`taken_for`): two attribute swaps, so
neither use ever runs with the other's settings, and neither rebuilds its decoding.
"""

from __future__ import annotations

import contextlib

FILES = "files"


@contextlib.contextmanager
def taken_for(model, use: str):
    """Inside, ``model`` decodes as ``use`` last left it (on a first turn: as the file jobs do, for the use to set
    its own); afterwards as the file jobs left it."""
    _switch(model, use)
    try:
        yield model
    finally:
        _switch(model, FILES)


def _switch(model, use: str) -> None:
    current = getattr(model, "studio_decoding_use", FILES)
    if current == use:
        return
    kept = model.__dict__.setdefault("studio_decodings", {})
    kept[current] = (model.decoding, model.cfg.decoding, model.preprocessor.featurizer.dither)
    if use in kept:
        from omegaconf import open_dict

        decoding, config, dither = kept.pop(use)
        model.decoding, model.preprocessor.featurizer.dither = decoding, dither
        with open_dict(model.cfg):
            model.cfg.decoding = config
    else:  # a first turn: a copy of the file jobs' settings for the use to change, theirs kept whole
        import copy

        from omegaconf import open_dict

        with open_dict(model.cfg):
            model.cfg.decoding = copy.deepcopy(model.cfg.decoding)
    model.studio_decoding_use = use
