"""An import's upload, received on disk as it arrives, and how many imports a web process
takes at once.

The body is written to a file under NEWSLETTER_VAR_DIR/uploads a piece at a time, checked
as UTF-8 on the way (an incremental decoder: a file that is not is refused with the byte
where it stops being text, and nothing is recorded) and capped at
NEWSLETTER_IMPORT_MAX_BYTES; the import job then reads the file from disk in chunks
(imports.py) and deletes it when it is done. Neither ever holds the file in memory.

Each upload, and the job that follows it, holds one of NEWSLETTER_IMPORT_MAX_CONCURRENT
slots of this process; without a free slot an upload is refused before its body is read
(503 with Retry-After), so that several large uploads at once cannot take the web down.
"""
from __future__ import annotations

import codecs
import logging
import os
import tempfile
import threading
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import Engine

from newsletter.config import Settings
from newsletter.errors import InvalidInput
from newsletter.subscribers import imports

log = logging.getLogger(__name__)
RETRY_AFTER = 30  # seconds, said to an upload refused for want of a slot


class Slots:
    def __init__(self, size: int):
        self.size, self.used = size, 0
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self.used >= self.size:
                return False
            self.used += 1
            return True

    def give_back(self) -> None:
        with self._lock:
            self.used = max(0, self.used - 1)


class TooLarge(InvalidInput):
    status = 413
    title = "Request body too large"


def folder(settings: Settings) -> Path:
    path = settings.var_dir / "uploads"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


async def receive(chunks: AsyncIterator[bytes], settings: Settings) -> Path:
    """The body, written to a new file as it arrives; InvalidInput (and no file) for an
    empty body or one that is not UTF-8 text, TooLarge past the limit."""
    limit = settings.import_max_bytes
    fd, name = tempfile.mkstemp(prefix="import-", suffix=".csv", dir=folder(settings))
    path, size, text = Path(name), 0, False
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in chunks:
                if not chunk:
                    continue
                size += len(chunk)
                if size > limit:
                    raise TooLarge(f"the file may be at most {limit} bytes")
                try:
                    text = bool(decoder.decode(chunk).strip()) or text
                except UnicodeDecodeError as exc:
                    raise InvalidInput(f"the file is not UTF-8 text (byte {size - len(chunk) + exc.start})") from None
                out.write(chunk)
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                raise InvalidInput(f"the file is not UTF-8 text (it ends inside a character, byte {size})") from None
        if not text:
            raise InvalidInput("the file is empty")
        return path
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def run_and_forget(engine: Engine, secret: str, job_id: int, path: Path, slots: Slots) -> None:
    """The job (after the answer), then the file goes and the slot is given back."""
    try:
        imports.run(engine, secret, job_id, path)
    finally:
        path.unlink(missing_ok=True)
        slots.give_back()
