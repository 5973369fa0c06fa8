"""The commands on top of the package: ``python -m transcribe_studio`` (:mod:`.cli`),
``setup_local_models.py`` (:mod:`.setup`), and the start they share (:mod:`.start`: flags,
logging, settings checked once)."""
