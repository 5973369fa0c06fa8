"""``--status DEST``: what a manifest says, without running anything."""

from __future__ import annotations

from collections import Counter

from ..errors import ConfigurationError
from ..formatting import duration_text
from .manifest import Manifest
from .places import place

MOST_FAILURES_LISTED = 20


def summary(destination: str) -> tuple[str, bool]:
    """The text, and whether every file in the manifest is done."""
    manifest = Manifest(place(destination))
    if not manifest.exists():
        raise ConfigurationError(f"{destination} holds no archive manifest (no {manifest.folder.name}): no archive "
                                 "run has written there yet.")
    rows = list(manifest.rows())
    counts = Counter(row.status for row in rows)
    seconds = sum(row.seconds for row in rows if row.status == "done")
    lines = [f"{destination}: {len(rows)} file(s): {counts['done']} done ({duration_text(seconds)} of audio), "
             f"{counts['failed']} failed, {counts['started'] + counts['new']} started and not finished.",
             f"Last update: {max((row.updated for row in rows), default='never')}."]
    failed = sorted((row for row in rows if row.status == "failed"), key=lambda row: row.location)
    lines += [f"  FAILED  {row.location}: {row.error['message']}" for row in failed[:MOST_FAILURES_LISTED]]
    if len(failed) > MOST_FAILURES_LISTED:
        lines.append(f"  ... and {len(failed) - MOST_FAILURES_LISTED} more (each row is in {manifest.folder.name}).")
    if counts["failed"]:
        lines.append("Rerun with --retry-failed to try the failed files again.")
    return "\n".join(lines), len(rows) == counts["done"]
