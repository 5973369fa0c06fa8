"""Every finished transcription, kept on disk and listed for the History tab.

Why it is built this way:

* **One folder per transcription** under ``<output_dir>/history``, named
  ``2026-11-25_134512.345_meeting`` (UTC, milliseconds, then the input's safe
  stem): names sort by time, read well in a file manager, never collide (two
  ``talk.mp3`` from different folders get their own entry), and deleting an
  entry is removing one folder. UTC, because local time repeats an hour each
  autumn and would break the order.
* **An entry's life** (:class:`JobEntries` for a job of many files, or the
  store's own calls for one): :meth:`HistoryStore.open_entry` makes the folder
  with a hidden ``.incomplete`` marker in it; the caller writes the outputs into
  it (``writers.write_outputs``, each file swapped in atomically);
  :meth:`HistoryStore.finish` keeps a copy of the audio for replay (a nicety: an
  ``OSError`` there is only logged) and then, **last**, removes the marker;
  :meth:`HistoryStore.discard` removes the folder of a file that failed or was
  cancelled.
* **Complete means every file is written.** A folder is listed only when it has
  a JSON *and* no ``.incomplete`` marker: a crash between two formats leaves the
  marker, so the entry is never listed without its SRT or TXT. The marker is
  negative (present while writing) rather than a ``.complete`` file written last
  so that folders written before markers existed (a JSON, no marker) stay listed
  exactly as they were, with no migration step. Removing a file is as atomic as
  creating one, so the switch to complete is one atomic step either way.
* **Crashes are tidied at startup:** :meth:`HistoryStore.cleanup_incomplete`
  removes folders still marked incomplete, or without any JSON, once untouched
  for a day (a younger one may still be being written by another process). A
  folder with a damaged JSON but no marker is kept: it was complete, and its
  other outputs may still be worth having.
* **The listing reads only each entry's JSON**, and parses each file once per
  process (cached by size and modification time); a damaged folder is logged
  and skipped, never fatal to the listing.
* **Entry ids come from the browser**, so every id is checked to be a plain name
  of a real folder directly under the root before anything is read or deleted.
* **Edits** (:meth:`HistoryStore.save_edit`): a person's segment texts replace the
  model's; the model's own transcript is kept once, at the first edit, as the
  hidden ``.original.json`` in the entry (hidden: never listed, served or zipped as an
  export; :meth:`HistoryStore.original` reads it back). Unchanged words keep their
  times and speakers (:func:`..transcription.align.align`, per segment); new words get times
  interpolated inside their segment, marked ``"estimated": true`` in the JSON;
  every export the entry has is rewritten, each file atomically.
* **Speakers found later** (:meth:`HistoryStore.add_speakers`): an entry saved without
  speakers is labelled from its kept audio copy, its transcript as it is now (a person's
  edits kept); not an edit, so ``.original.json`` is neither made nor changed.
* **Download all** (:meth:`HistoryStore.zip_entries`): one zip of the chosen
  entries' exports (``<entry id>/<file>`` inside), written atomically into the
  hidden ``<root>/.downloads`` (or a folder the caller names); zips there older
  than an hour are removed as each new one is made.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import secrets
import shutil
import threading
import time
import unicodedata
import zipfile
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ..classify import folder_error, report
from ..errors import BadAudioError, EditError, HistoryEntryNotFoundError, SpeakersError, UndoError
from ..files import atomic_copy, atomic_write_text, atomic_write_with, make_dirs, make_new_dir
from ..media import MEDIA_EXTENSIONS
from ..media.decode import decode_audio
from ..settings import OUTPUT_DIR_FLAG
from ..transcription.align import align
from ..transcription.transcript import Segment, Skipped, Transcript, Word
from .writers import (
    DEFAULT_OPTIONS,
    FORMATS,
    WriterOptions,
    get_writer,
    render_outputs,
    safe_stem,
    write_rendered,
)

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

# Audio is kept only to replay segments from History. 200 MB holds about 3.5 hours
# of 128 kbps MP3 or 20 minutes of 16-bit stereo WAV; bigger inputs are mostly videos,
# where a copy would double the disk used for a convenience. The original stays put.
MAX_AUDIO_BYTES = 200 * 1024 * 1024
# The answers a language model gave about an entry ("answers (Ask <model>).md"), kept beside its exports
# (not an export: edits never rewrite it).
ANSWERS_FILE = "answers ({asked}).md"
PREVIEW_CHARS = 160
MAX_NAME_CHARS = 60  # keeps <root>/<entry>/<stem>.json well inside Windows' 260-character paths
_TIME_FORMAT = "%Y-%m-%d_%H%M%S"
_NAME = re.compile(r"(\d{4}-\d\d-\d\d_\d{6})\.(\d{3})_")
INCOMPLETE = ".incomplete"  # in an entry's folder while its files are being written
ORIGINAL = ".original.json"  # the model's transcript, kept at an entry's first edit
DOWNLOADS = ".downloads"  # zips of entries made for "Download all"
UNDO, UNDO_STATE = ".undo", ".state.json"  # an entry's exports before its last replace, and what undo checks
ZIP_KEEP_S = 3600  # a zip is for one download: older ones are removed as new ones are made






@dataclass(frozen=True)
class HistoryEntry:
    id: str                  # the folder name
    created: datetime        # UTC, from the folder name (else the metadata, else the JSON's time)
    source: str              # the input's file name
    model: str
    duration: float          # seconds of audio
    preview: str             # the start of the text
    files: list[Path] = field(default_factory=list)  # every output in the folder, audio excluded
    audio: Path | None = None
    languages: str = ""      # the text's language ("de"), or the translation made ("de → en")


class _Clock:
    """UTC now, but strictly increasing in this process (every store shares it), so entries made
    in one millisecond keep their order; it runs ahead only in bursts of over 1000 entries a second."""

    def __init__(self):
        self._lock = threading.Lock()
        self._last = datetime.min.replace(tzinfo=timezone.utc)

    def next(self) -> datetime:
        with self._lock:
            self._last = max(datetime.now(timezone.utc), self._last + timedelta(milliseconds=1))
            return self._last


_clock = _Clock()


class HistoryStore:
    def __init__(self, root: str | os.PathLike, writer_options: WriterOptions = DEFAULT_OPTIONS,
                 keep_audio_bytes: int = MAX_AUDIO_BYTES):
        self.root = Path(root)
        self._changing = threading.RLock()  # one change of this History's transcripts at a time (see change)
        self.keep_audio_bytes = keep_audio_bytes  # copies of inputs up to this size are kept for replay; 0: none
        self.writer_options = writer_options  # how exports are laid out when an entry is rewritten
        self._parsed: dict[str, tuple[tuple, dict | None]] = {}  # id -> ((json name, size, mtime), summary)

    # --- writing: an entry's life -------------------------------------------------

    def open_entry(self, source_name: str) -> Path:
        """Create a uniquely named folder for one transcription, marked incomplete; return it."""
        make_dirs(self.root)
        now = _clock.next()
        stem = safe_stem(source_name)[:MAX_NAME_CHARS].strip(" .") or "transcript"
        base = f"{now.strftime(_TIME_FORMAT)}.{now.microsecond // 1000:03d}_{stem}"
        for n in range(1, 1000):  # another process may have taken the name
            path = self.root / (base if n == 1 else f"{base}-{n}")
            try:
                make_new_dir(path)
            except FileExistsError:
                continue
            atomic_write_text(path / INCOMPLETE, "")
            return path
        raise FileExistsError(f"no free entry name for {base!r} in {self.root}")

    def finish(self, entry_dir: str | os.PathLike, audio: str | os.PathLike | None = None) -> str:
        """Mark an entry complete once its outputs are written; return its id.

        With ``audio``, first keep a copy of it for replaying segments: a nicety, so
        an ``OSError`` (a full disk) is logged and only the replay is lost.
        """
        return self.finish_keeping(entry_dir, audio)[0]

    def finish_keeping(self, entry_dir: str | os.PathLike,
                       audio: str | os.PathLike | None = None) -> tuple[str, Path | None]:
        """:meth:`finish`, also saying where the copy of ``audio`` was kept (None: not kept)."""
        entry, kept = self._own_folder(entry_dir), None
        if audio is not None:
            try:
                kept = self.save_audio(entry, audio)
            except OSError as exc:
                report(exc, f"keeping a copy of {Path(audio).name} for replay")
        (entry / INCOMPLETE).unlink(missing_ok=True)  # last: from here on the entry is listed
        return entry.name, kept

    def discard(self, entry_dir: str | os.PathLike) -> None:
        """Remove an entry that will not be finished (its file failed, or the job stopped); gone is fine."""
        try:
            entry = self._own_folder(entry_dir)
        except HistoryEntryNotFoundError:
            return
        shutil.rmtree(entry, ignore_errors=True)
        self._parsed.pop(entry.name, None)

    def job(self) -> "JobEntries":
        """The entries of one job of many files: see :class:`JobEntries`."""
        return JobEntries(self)

    def save_audio(self, entry_dir: str | os.PathLike, src_path: str | os.PathLike) -> Path | None:
        """Copy the input beside its outputs as ``audio<ext>``; None if it is over ``keep_audio_bytes``."""
        entry = self._own_folder(entry_dir)
        src = Path(src_path)
        ext = src.suffix.lower()
        if ext not in MEDIA_EXTENSIONS:  # not a media type (a page, a script, an output's ending): kept as data
            ext = ".bin"
        size = src.stat().st_size
        if size > self.keep_audio_bytes:
            log.info("Not keeping %s in History: %d bytes is over the %d-byte limit", src.name, size,
                     self.keep_audio_bytes)
            return None
        return atomic_copy(src, entry / f"audio{ext}")

    # --- reading ---------------------------------------------------------------

    def entries(self) -> list[HistoryEntry]:
        """Every complete entry, newest first; incomplete or damaged folders are skipped."""
        try:
            folders = self._folders()
        except FileNotFoundError:
            return []
        except OSError as exc:  # unreadable: say which folder, not a bare "Error"
            raise folder_error(exc, self.root, OUTPUT_DIR_FLAG) from exc
        found = []
        for folder in folders:
            try:
                entry = self._read_entry(Path(folder.path))
            except OSError as exc:  # vanished or unreadable meanwhile
                log.warning("Skipping History folder %s: %s", folder.name, exc)
                continue
            if entry is not None:
                found.append(entry)
        names = {f.name for f in folders}
        self._parsed = {k: v for k, v in self._parsed.items() if k in names}  # forget deleted entries
        return sorted(found, key=lambda e: (e.created, e.id), reverse=True)

    def load(self, entry_id: str) -> tuple[Transcript, dict, HistoryEntry]:
        """The entry's transcript (segments and words rebuilt), its metadata and its summary."""
        path = self._entry_path(entry_id)
        entry = self._read_entry(path)
        if entry is None:
            raise HistoryEntryNotFoundError(f"The History entry '{entry_id}' is incomplete or damaged.")
        try:
            transcript, metadata = _parse(_json_file(_files(path)))
            return transcript, metadata, entry
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise HistoryEntryNotFoundError(f"The History entry '{entry_id}' is damaged: {exc}") from exc

    def original(self, entry_id: str) -> Transcript:
        """The model's own transcript of an edited entry (the entry's transcript if it was never edited)."""
        kept = self._entry_path(entry_id) / ORIGINAL
        if not kept.is_file():
            return self.load(entry_id)[0]
        try:
            return _parse(kept)[0]
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise HistoryEntryNotFoundError(f"The original of History entry '{entry_id}' is damaged: {exc}") from exc

    def save_answer(self, entry_id: str, heading: str, answer_markdown: str, asked: str = "Ask") -> Path:
        """Add an answer about the entry (``asked``: "Ask <model>") to its answers file (newest last), kept and
        served with it."""
        path = self._entry_path(entry_id) / ANSWERS_FILE.format(asked=asked)
        try:
            before = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            before = f"# Answers about this transcript ({asked})\n"
        stamp = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M")
        atomic_write_text(path, f"{before}\n## {heading} ({stamp})\n\n{answer_markdown.strip()}\n")
        return path

    def rename_speakers(self, entry_id: str, names: dict[str, str]) -> Transcript:
        """Give the entry's speakers names ({"Speaker 2": "Dana"}) and rewrite every export in it to match.

        Raises ValueError (an unknown speaker, two speakers with one name) before anything is written.
        """
        with self._changing:
            transcript, metadata, entry = self.load(entry_id)
            transcript.rename_speakers(names)
            self._rewrite(entry, transcript, metadata)
            return transcript

    def save_edit(self, entry_id: str, segment_texts: list[str]) -> Transcript:
        """Replace the entry's segment texts with a person's edits (one text per segment, in order) and rewrite
        every export; return the edited transcript.

        Words left unchanged keep their times and speakers, new ones get times inside their segment
        (``estimated``); an empty text removes the segment. Raises :class:`EditError` (wrong count, not text)
        before anything is written.
        """
        def edit(transcript: Transcript) -> Transcript:
            check_edit(segment_texts, transcript.segments)
            return edit_transcript(transcript, segment_texts)
        return self.change(entry_id, edit)

    def change(self, entry_id: str, how: Callable[[Transcript], Transcript], undoable: bool = False) -> Transcript:
        """Change the entry's transcript by ``how`` (an edit, a replace, a split...) and rewrite every export;
        return the changed transcript. The model's transcript is kept first (:meth:`original`). With
        ``undoable``, the exports as they were are kept for :meth:`undo` (only the last such change), and a write
        that fails half way puts them back. ``how`` refuses by raising: nothing is written then. Changes to one
        History are made one at a time: two at once would each start from the same file, and one be lost."""
        with self._changing:
            transcript, metadata, entry = self.load(entry_id)
            original = get_writer("json").render(transcript, metadata)
            changed = how(transcript)
            metadata["edited"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
            rendered = self._rendered(entry, changed, metadata)  # a refused change fails here: nothing written yet
            kept = self._entry_path(entry_id) / ORIGINAL
            first = not kept.exists()
            kept_for_undo = self._keep_for_undo(entry) if undoable else []
            if first:  # only the first change: later ones must not overwrite the model's text
                atomic_write_text(kept, original)
            try:
                self._write(entry, rendered)
            except OSError:
                if undoable:
                    self._put_back_after(entry_id, kept_for_undo, first)
                raise
            if undoable:
                self._note_undo(entry, kept_for_undo, first)
            return changed

    def undo(self, entry_id: str) -> Transcript:
        """Put back the entry's exports as they were before its last undoable change, byte for byte. Refused
        (:class:`EditError`, nothing written) when there is none, or the entry changed since."""
        with self._changing:
            entry = self._complete_entry(entry_id)
            try:
                state = json.loads((self._entry_path(entry_id) / UNDO / UNDO_STATE).read_text(encoding="utf-8"))
                names, first = [str(n) for n in state["files"]], bool(state["original_made"])
            except (OSError, ValueError, KeyError, TypeError):
                raise UndoError("There is no replace to undo in this transcript.") from None
            if state.get("after") != _digest(_json_file(entry.files)):
                raise UndoError("This transcript changed after the replace (an edit, a rename or another change), "
                                "so undoing it would lose that change.", next_steps="Correct it by hand, or replace back.")
            self._put_back(entry_id, names, first)
            return self.load(entry_id)[0]

    def _keep_for_undo(self, entry: HistoryEntry) -> list[str]:
        """A copy of each export as it is now, in the hidden ``.undo`` folder (replacing the one kept before);
        the names copied."""
        folder = self._entry_path(entry.id)
        shutil.rmtree(folder / UNDO, ignore_errors=True)
        make_dirs(folder / UNDO)
        names = [path.name for path in entry.files if not _is_answers(path.name)]
        for name in names:
            atomic_copy(folder / name, folder / UNDO / name)
        return names

    def _note_undo(self, entry: HistoryEntry, names: list[str], first: bool) -> None:
        """What undo needs: the files kept, whether the change made the kept original, and the JSON it left."""
        state = {"files": names, "original_made": first, "after": _digest(_json_file(entry.files))}
        atomic_write_text(self._entry_path(entry.id) / UNDO / UNDO_STATE, json.dumps(state))

    def _put_back_after(self, entry_id: str, names: list[str], original_made: bool) -> None:
        """After a change failed half way: the files as they were, as far as the disk lets (the failure that
        stopped the change is what the person is told)."""
        try:
            self._put_back(entry_id, names, original_made)
        except (OSError, EditError) as exc:
            log.warning("Could not put entry %s back after a failed change: %s", entry_id, exc)

    def _put_back(self, entry_id: str, names: list[str], original_made: bool) -> None:
        """The files kept in ``.undo`` back in place, the JSON last (while it is the changed one, an undo that
        failed half way can run again); only plain files of the names kept, never a link."""
        folder = self._entry_path(entry_id)
        for name in sorted(names, key=lambda n: n.endswith(".json")):
            kept = folder / UNDO / name
            if Path(name).name != name or name.startswith(".") or not kept.is_file() or kept.is_symlink():
                raise UndoError("The copies kept for undo are damaged, so nothing more was put back.",
                                next_steps="Correct the transcript by hand.")
            atomic_copy(kept, folder / name)
        if original_made:
            (folder / ORIGINAL).unlink(missing_ok=True)
        shutil.rmtree(folder / UNDO, ignore_errors=True)

    def add_speakers(self, entry_id: str,
                     label: Callable[[Transcript, np.ndarray], tuple[Transcript, dict]]) -> Transcript:
        """Label who spoke in an entry saved without speakers, from its kept audio copy, and rewrite every export;
        return the labelled transcript.

        ``label(transcript, audio)`` gets the entry's transcript as it is now (a person's edits included) and the
        copy decoded to 16 kHz mono, and gives it back labelled, with what labelled it (saved as the metadata's
        ``"speakers"``, as a job saves it). Not an edit: an edited entry's ``.original.json`` stays as it was, and
        an entry never edited gets none. Refused with :class:`SpeakersError` before anything is written: the entry
        has speakers already, no audio copy was kept or it cannot be decoded, no speaker was heard, or the entry
        changed meanwhile; whatever ``label`` raises also leaves every file as it was.
        """
        transcript, metadata, entry = self.load(entry_id)
        if transcript.has_speakers:
            raise SpeakersError("This transcript has its speakers already.",
                                next_steps="To give them names, use Rename speakers.")
        before = _json_file(entry.files).read_bytes()
        labelled, found_by = label(transcript, _kept_audio(entry))
        if not labelled.has_speakers:
            raise SpeakersError("The speaker diarizer heard no speaker in this recording, so nothing was changed.",
                                next_steps="Check that the recording holds speech; the transcript stays as it is.")
        metadata["speakers"] = found_by
        metadata["speakers_found"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        rendered = self._rendered(entry, labelled, metadata)
        with self._changing:
            if _json_file(_files(self._entry_path(entry_id))).read_bytes() != before:  # finding them takes a while
                raise SpeakersError("The transcript was changed (an edit, a rename) while its speakers were being "
                                    "found, so nothing was written: that change is kept.",
                                    next_steps="Press Find speakers again.")
            self._write(entry, rendered)
        return labelled

    def zip_entries(self, entry_ids: list[str], audio: bool = False, folder: str | os.PathLike | None = None) -> Path:
        """One zip of the entries' exports (and audio copies if ``audio``), as ``<entry id>/<file>`` inside;
        written atomically into ``folder`` (default: the hidden ``<root>/.downloads``). Unknown or
        incomplete entries raise :class:`HistoryEntryNotFoundError` before anything is written."""
        entries = [self._complete_entry(entry_id) for entry_id in dict.fromkeys(entry_ids)]
        if not entries:
            raise HistoryEntryNotFoundError("No History entries were chosen to download.",
                                            next_steps="Choose one or more entries, then download them.")
        folder = make_dirs(folder if folder is not None else self.root / DOWNLOADS)
        _remove_old_zips(folder)
        now = _clock.next()
        # a name no one else can guess, should the folder ever be served to others
        path = folder / f"transcripts_{now.strftime(_TIME_FORMAT)}.{now.microsecond // 1000:03d}_{secrets.token_hex(4)}.zip"

        def fill(out) -> None:
            with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
                for entry in entries:
                    for file in entry.files + ([entry.audio] if audio and entry.audio else []):
                        archive.write(file, f"{entry.id}/{file.name}")
        try:
            return atomic_write_with(path, fill)
        except OSError as exc:
            raise folder_error(exc, folder, OUTPUT_DIR_FLAG) from exc

    def delete(self, entry_id: str) -> None:
        """Remove the entry's folder and everything in it, and nothing else; a failure is a DiskError."""
        path = self._entry_path(entry_id)
        try:
            shutil.rmtree(path)
        except OSError as exc:
            raise folder_error(exc, path, OUTPUT_DIR_FLAG) from exc
        self._parsed.pop(entry_id, None)

    def cleanup_incomplete(self, older_than_s: float = 24 * 3600) -> list[str]:
        """Remove folders marked incomplete or without a JSON (a crash mid-write) untouched for
        ``older_than_s``; return their ids.

        Folders with a damaged JSON and no marker are kept: their other outputs may still be worth having.
        """
        removed, cutoff = [], time.time() - older_than_s
        try:
            folders = self._folders()
        except FileNotFoundError:
            return removed
        for folder in folders:
            path = Path(folder.path)
            try:
                files, complete = _scan(path)
                if (complete and _json_file(files) is not None) or _last_change(path) >= cutoff:
                    continue
            except OSError:  # vanished meanwhile
                continue
            shutil.rmtree(path, ignore_errors=True)
            removed.append(folder.name)
        if removed:
            log.info("Removed %d History folder(s) left incomplete by a crash: %s", len(removed), ", ".join(removed))
        return removed

    # --- helpers ---------------------------------------------------------------

    def _folders(self) -> list[os.DirEntry]:
        """The candidate entry folders: real folders (no links) directly under the root."""
        with os.scandir(self.root) as found:
            return [d for d in found if d.is_dir(follow_symlinks=False) and not d.name.startswith(".")]

    def _entry_path(self, entry_id: str) -> Path:
        """The folder for an id from the browser: a plain name of a real folder directly under the root."""
        shown = repr(entry_id)[:80]
        if (not isinstance(entry_id, str) or not entry_id or entry_id.startswith(".")
                or any(c in entry_id for c in "/\\:\x00")):
            raise HistoryEntryNotFoundError(f"{shown} is not a History entry name.")
        path = self.root / entry_id
        if path.is_symlink() or not path.is_dir() or path.resolve().parent != self.root.resolve():
            raise HistoryEntryNotFoundError(f"There is no History entry {shown}.")
        return path

    def _complete_entry(self, entry_id: str) -> HistoryEntry:
        entry = self._read_entry(self._entry_path(entry_id))
        if entry is None:
            raise HistoryEntryNotFoundError(f"The History entry '{entry_id}' is incomplete or damaged.")
        return entry

    def _rewrite(self, entry: HistoryEntry, transcript: Transcript, metadata: dict) -> None:
        """Write every export the entry has again, from ``transcript``: all rendered first, so a transcript one
        format cannot hold changes no file; then each file atomically."""
        self._write(entry, self._rendered(entry, transcript, metadata))

    def _rendered(self, entry: HistoryEntry, transcript: Transcript, metadata: dict) -> list:
        formats = sorted({p.suffix[1:] for p in entry.files if p.suffix[1:] in FORMATS and not _is_answers(p.name)})
        # The subtitles keep the layout the entry was saved with (settings may differ today); an entry saved
        # without it takes the store's.
        return render_outputs(transcript, formats, metadata, WriterOptions.from_metadata(metadata, self.writer_options))

    def _write(self, entry: HistoryEntry, rendered: list) -> None:
        # The JSON last: it is the entry's record, so a write that fails half way leaves the record as it was.
        rendered = sorted(rendered, key=lambda item: item[0] == "json")
        write_rendered(rendered, _json_file(entry.files).name, self._entry_path(entry.id))

    def _own_folder(self, entry_dir: str | os.PathLike) -> Path:
        """``entry_dir`` if it is a folder of this History (by its full path, not only its name)."""
        entry = self._entry_path(Path(entry_dir).name)
        if Path(entry_dir).resolve() != entry.resolve():
            raise HistoryEntryNotFoundError(f"{entry_dir} is not a folder of this History.")
        return entry

    def _read_entry(self, path: Path) -> HistoryEntry | None:
        """The entry in a folder, or None (logged) if it is incomplete or its JSON is missing or unreadable."""
        files, complete = _scan(path)
        json_path = _json_file(files)
        if json_path is None or not complete:
            log.debug("History folder %s is incomplete (being written, or cut short)", path.name)
            return None
        stat = json_path.stat()
        key = (json_path.name, stat.st_size, stat.st_mtime_ns)
        cached = self._parsed.get(path.name)
        if cached is None or cached[0] != key:
            cached = (key, _summary(path.name, json_path, stat.st_mtime))
            self._parsed[path.name] = cached
        summary = cached[1]
        if summary is None:
            return None
        audio = next((p for p in files if p.stem == "audio" and p.suffix.lstrip(".").lower() not in FORMATS), None)
        return HistoryEntry(id=path.name, files=[p for p in files if p != audio], audio=audio, **summary)


class JobEntries:
    """The History entries of one job of many files, one per input file.

    ``open(source)`` as each file starts (fits ``batch.run_batch``'s ``output_dir_for``),
    then ``finish(source)`` once its outputs are written (its audio is kept beside them)
    or ``discard(source)`` if it failed. Used as a context manager: whatever is still
    open when the job stops early (cancelled, the generator closed, an error) is
    discarded on the way out, so a stopped job leaves only whole entries.
    """

    def __init__(self, store: HistoryStore):
        self.store = store
        self._open: dict[Path, Path] = {}
        self.kept_audio: dict[str, Path | None] = {}  # entry id -> its kept copy of the input (None: not kept)

    def open(self, source: Path) -> Path:
        self._open[source] = folder = self.store.open_entry(source.name)
        return folder

    def finish(self, source: Path) -> str | None:
        """Mark ``source``'s entry complete, keeping a copy of ``source``; its id (None if none was opened).
        Where the copy was kept is in :attr:`kept_audio`."""
        folder = self._open.pop(source, None)
        if folder is None:
            return None
        entry_id, self.kept_audio[entry_id] = self.store.finish_keeping(folder, audio=source)
        return entry_id

    def discard(self, source: Path) -> None:
        folder = self._open.pop(source, None)
        if folder is not None:
            self.store.discard(folder)

    def discard_open(self) -> None:
        for source in list(self._open):
            self.discard(source)

    def __enter__(self) -> "JobEntries":
        return self

    def __exit__(self, *exc_info) -> None:
        self.discard_open()


# --- edits -------------------------------------------------------------------

# An edited segment may grow to this many times its words (and at least this many): room for any correction,
# while aligning the edit to the old words (a table of old x new words) stays small and quick.
# An edited segment holds at most this many words a second of its audio (four times a fast speaker's five),
# and never fewer than EDIT_MIN_WORDS: a bound from the audio, which edits cannot move, so edit after edit
# cannot grow a segment step by step.
EDIT_WORDS_PER_SECOND, EDIT_MIN_WORDS, EDIT_MAX_WORD_CHARS = 20, 400, 100


def check_edit(segment_texts: object, segments: list[Segment]) -> None:
    """Refuse, before anything is written, an edit that is not one plain text per segment or that grows a
    segment far beyond a correction (a pasted document would take minutes to align and fill the disk)."""
    if not isinstance(segment_texts, (list, tuple)) or not all(isinstance(t, str) for t in segment_texts):
        raise EditError("The edit must be one text per segment.")
    if len(segment_texts) != len(segments):
        raise EditError(f"The edit has {len(segment_texts)} segment text(s) but the entry has {len(segments)} "
                        "segments; it may have changed since the page loaded it.")
    for number, (text, segment) in enumerate(zip(segment_texts, segments), 1):
        allowed = max(EDIT_MIN_WORDS, math.ceil(EDIT_WORDS_PER_SECOND * (segment.end - segment.start)))
        if len(text.split()) > allowed:
            raise EditError(f"Segment {number}'s new text is too long ({len(text.split()):,} words; at most "
                            f"{allowed:,} here).", next_steps="Shorten it: an edit corrects a segment's words.")
        if len(text) > allowed * EDIT_MAX_WORD_CHARS:
            raise EditError(f"Segment {number}'s new text is too long ({len(text):,} characters; at most "
                            f"{allowed * EDIT_MAX_WORD_CHARS:,} here).",
                            next_steps="Shorten it: an edit corrects a segment's words.")
        if any(unicodedata.category(c) == "Cc" and c not in "\t\n\r" for c in text):
            raise EditError(f"Segment {number}'s new text holds a control character, which the documents "
                            "cannot hold.", next_steps="Remove it (it was probably pasted by accident).")


def edit_transcript(transcript: Transcript, segment_texts: list[str]) -> Transcript:
    """``transcript`` with each segment's text replaced by the edit: unchanged words keep their times and
    speakers, new words take times inside their segment (estimated) and its speaker, and every word the person
    changed is marked edited; empty segments go.
    A transcript without word times stays without: there is nothing to keep."""
    segments, words = [], []
    for segment, old_words, text in zip(transcript.segments, transcript.words_by_segment(), segment_texts):
        text = " ".join(text.split())
        if text == " ".join(segment.text.split()):  # untouched: exactly as it was
            segments.append(segment)
            words += old_words
        elif text:
            segments.append(replace(segment, text=text))
            if transcript.words:
                words += [w if w.speaker or not segment.speaker else replace(w, speaker=segment.speaker)
                          for w in align(text.split(), old_words, segment.start, segment.end, by_person=True)]
    return replace(transcript, text=" ".join(s.text for s in segments), segments=segments, words=words)


def _digest(path: Path | None) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path else ""


def _kept_audio(entry: HistoryEntry) -> np.ndarray:
    """The entry's kept audio copy as 16 kHz mono, or :class:`SpeakersError` saying why it cannot be had."""
    if entry.audio is None:
        raise SpeakersError("History did not keep this recording's audio (recordings over --keep-audio-mb, 200 MB "
                            "unless changed, are not kept), so its speakers cannot be found now.")
    try:
        return decode_audio(entry.audio)
    except BadAudioError as error:
        raise SpeakersError(f"History's copy of this recording's audio cannot be used: {error.message}") from error


def _remove_old_zips(folder: Path) -> None:
    cutoff = time.time() - ZIP_KEEP_S
    for old in folder.glob("transcripts_*.zip"):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:  # another process removed it first
            continue


def read_transcript(json_path: str | Path) -> Transcript:
    """A transcript saved as JSON (by the app, the CLI or :func:`.writers.write_outputs`), read back."""
    return _parse(Path(json_path))[0]


def _is_answers(name: str) -> bool:
    before, _, after = ANSWERS_FILE.partition("{asked}")
    return name.startswith(before) and name.endswith(after)


def _parse(json_path: Path) -> tuple[Transcript, dict]:
    """A transcript JSON (as WriteJSON writes it) read back into a Transcript and its metadata."""
    data = json.loads(json_path.read_text(encoding="utf-8"))
    names = {str(label): str(name) for label, name in (data.get("speaker_names") or {}).items()}
    labels = {name: label for label, name in names.items()}  # the JSON shows names; keep the labels

    def speaker(item: dict) -> str | None:
        shown = item.get("speaker")
        return None if shown is None else labels.get(str(shown), str(shown))

    transcript = Transcript(
        text=str(data.get("text", "")),
        segments=[Segment(float(s["start"]), float(s["end"]), str(s["text"]), speaker(s))
                  for s in data["segments"]],
        words=[Word(float(w["start"]), float(w["end"]), str(w["text"]), bool(w.get("estimated")), speaker(w),
                    _confidence(w.get("confidence")), bool(w.get("edited")))
               for w in data["words"]],
        model=str(data.get("model", "")),
        language=str(data.get("language") or ""),
        duration=float(data.get("duration") or 0.0),
        notes=[str(n) for n in data.get("notes") or []],
        skipped=[Skipped(float(s["start"]), float(s["end"]), str(s.get("why") or ""))
                 for s in data.get("skipped") or []],
        speaker_names=names, translated_from=str(data.get("translated_from") or ""))
    return transcript, dict(data.get("metadata") or {})


# --- folders -----------------------------------------------------------------

def _scan(folder: Path) -> tuple[list[Path], bool]:
    """The folder's finished files (no hidden or temporary files, no links that could point
    elsewhere), and whether it is complete (no ``.incomplete`` marker)."""
    with os.scandir(folder) as found:
        entries = list(found)
    files = sorted(Path(f.path) for f in entries if f.is_file(follow_symlinks=False) and not f.name.startswith("."))
    return files, not any(f.name == INCOMPLETE for f in entries)


def _files(folder: Path) -> list[Path]:
    return _scan(folder)[0]


def _last_change(folder: Path) -> float:
    """When the folder or its marker last changed (a file added or swapped in changes the folder)."""
    times = [folder.stat(follow_symlinks=False).st_mtime]
    marker = folder / INCOMPLETE
    if marker.is_file():
        times.append(marker.stat().st_mtime)
    return max(times)


def _json_file(files: list[Path]) -> Path | None:
    return next((p for p in files if p.suffix == ".json"), None)


def _summary(name: str, json_path: Path, mtime: float) -> dict | None:
    """What the listing shows, parsed from one JSON; None (logged once) if it is damaged."""
    try:
        data = json.loads(json_path.read_text(encoding="utf-8"))
        meta = data.get("metadata") or {}
        text = " ".join(str(data.get("text", "")).split())
        return {"created": _created(name, meta.get("created"), mtime),
                "source": str(meta.get("source") or json_path.stem),
                "model": str(meta.get("model") or data.get("model") or ""),
                "languages": _languages(data),
                "duration": float(data.get("duration") or 0.0),
                "preview": text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS - 1].rstrip() + "…"}
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        log.warning("Skipping damaged History entry %s: %s", name, exc)
        return None


def _confidence(value) -> float | None:
    """A word's confidence as saved, or None for none or one that is not a number in [0, 1] (a hand-edited file)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if 0.0 <= number <= 1.0 else None


def _languages(data: dict) -> str:
    """The transcript's language ("de"), or the translation made ("de → en"); "" when unknown."""
    language, source = str(data.get("language") or ""), str(data.get("translated_from") or "")
    return f"{source} → {language}" if source and language else language


def _created(name: str, created: object, mtime: float) -> datetime:
    """When the entry was made: from its folder name, else its metadata, else its JSON's modification time."""
    match = _NAME.match(name)
    for text, fmt in ((match and match[1] + match[2], _TIME_FORMAT + "%f"), (str(created), None)):
        try:
            stamp = datetime.strptime(text, fmt) if fmt else datetime.fromisoformat(text)
            return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)
        except (TypeError, ValueError):
            continue
    return datetime.fromtimestamp(mtime, timezone.utc)
