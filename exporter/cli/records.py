"""Records that let an identical ``exporter build`` skip its work (see :mod:`exporter.memo`).

The build command notes what it is about to read (:class:`Inputs`), builds, and
then writes the record (:func:`record_command`) if nothing it read changed meanwhile.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .build_command import _Run


class Inputs:
    """The sources, stylesheets, defaults files and folders a build reads, as found before it."""

    def __init__(self, paths: list[str], folders: list[str], cwd: str, tool: str | None = None):
        from .. import memo
        from ..launch import fingerprint

        self.paths, self.folder_names, self.cwd = paths, folders, cwd
        self.tool = tool or fingerprint()  # the code and libraries that will build
        self.files = memo.hash_inputs(paths, cwd)
        self.folders = memo.list_folders(folders, cwd)

    @classmethod
    def before(cls, sources: Sequence[Path], run: _Run, tool: str | None = None) -> Inputs:
        """What *run* is about to read, as it is now (*tool*: the fingerprint, if taken)."""
        from .build_command import CONTENT_DIR

        paths = [str(path) for path in [*run.paths, *run.options.user_stylesheets]]
        folders = [str(source) for source in (sources or (CONTENT_DIR,)) if source.is_dir()]
        return cls(paths, folders, os.getcwd(), tool)

    def unchanged(self) -> bool:
        """Whether every input is still as it was before the build."""
        from .. import memo

        return (memo.hash_inputs(self.paths, self.cwd) == self.files
                and memo.list_folders(self.folder_names, self.cwd) == self.folders)


def record_command(argv: list[str], run: _Run, watched: Inputs) -> None:
    """Let an identical command find, before it imports anything, that nothing changed.

    See :mod:`exporter.memo`. A record is written only when every input is known and
    none changed while the build ran; images and outputs are recorded by the SHA-256 of
    the bytes the build read and wrote.
    """
    from .. import memo
    from ..cache import CACHE_DIR
    from ..output import write_atomic
    from .progress import result_lines, summary_counts

    if not watched.unchanged():
        return
    files = dict(watched.files)
    for result in run.built:
        record = run.output_dir / CACHE_DIR / f"{result.source.stem}.json"
        try:
            data = record.read_bytes()
            images = json.loads(data)["images"]
        except (OSError, ValueError, KeyError):
            return  # no cache record, so no certainty about its images: no record
        files[os.path.join(watched.cwd, record)] = hashlib.sha256(data).hexdigest()
        for name, digest in images.items():
            files[os.path.join(watched.cwd, result.source.parent, name)] = digest
    outputs = {os.path.join(watched.cwd, output.path): output.sha256
               for result in run.built for output in result.outputs}
    lines = [line for result in run.built for line in result_lines(result, reused=True)]
    summary = summary_counts(run.outcomes, all_reused=True) if len(run.outcomes) > 1 else None
    entry = memo.make_record(argv, watched.cwd, watched.tool, files, watched.folders, outputs,
                             lines, summary)
    path = Path(memo.record_path(str(run.output_dir), argv, watched.cwd))
    # (A record lost to a crash costs a build; replay takes a torn one for none.)
    write_atomic(path, json.dumps(entry, indent=1, sort_keys=True).encode("utf-8"), durable=False)
    memo.prune(str(path.parent))
