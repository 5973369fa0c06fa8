from .main import main  # noqa: F401 - `python transcribe_ui.py`
