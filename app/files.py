"""Private files and folders: what the instance folder holds (the SQLite database, the embedded
Redis's data, development secrets, media) is readable by this user only, whatever the umask.

Folders are created 0700 and files 0600. A file an earlier version left readable by others is
made private again when it is opened here.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FILE_MODE = 0o600
FOLDER_MODE = 0o700


def private_folder(path: Path) -> Path:
    """Create `path` and any missing parents as 0700 folders (an existing folder is left as it is)."""
    missing = [folder for folder in (path, *path.parents) if not folder.exists()]
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=FOLDER_MODE)
        except FileExistsError:  # another process made it meanwhile
            continue
        os.chmod(folder, FOLDER_MODE)  # mkdir's mode is masked by the umask
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty as 0600 if it is missing; take group and other access off an existing one."""
    private_folder(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        tighten(path)
    return path


def tighten(path: Path) -> None:
    """Take group and other access off `path`, if it exists."""
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        return
    if mode & 0o077:
        os.chmod(path, mode & 0o700)


def write_private(path: Path, content: bytes) -> None:
    """Write `content` to `path` (created 0600, truncated if it exists)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)
    tighten(path)


@contextmanager
def private_umask() -> Iterator[None]:
    """Run the block (and any server process it starts, which inherits it) under umask 077."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)
