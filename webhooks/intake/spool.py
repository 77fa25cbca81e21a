"""The spool: when the database cannot take a callback, its raw body goes to an append-only file on local
disk (flushed and fsynced) so the callback can still be acknowledged. Replay claims a file by renaming it,
feeds it back through the normal path (receipt uniqueness makes a second replay harmless) and deletes it.

Every entry carries a key (random, made when it is spooled); the replay records each key in the same
transaction as the callback (bot.storage.callbacks.claim_spool_keys), so a replay cut part-way and run again,
or run by two processes at once, journals every entry exactly once.
An entry whose token could not be checked (the database was away and the token was not in the cached list)
is spooled as unverified, with only the token's digest; at most UNVERIFIED_LIMIT of them wait at once, so
strangers cannot fill the disk, and the replay drops those whose token turns out to be nobody's.

Appenders and the replayer coordinate with flock on the file plus an inode check, so a process appending
while another renames the file never writes into a file that has already been read.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

SPOOL_NAME = "callbacks.spool"
ORPHANS_NAME = "orphaned-callbacks.jsonl"  # entries whose business is not in the database: kept for a person
UNVERIFIED_LIMIT = 5000


def _new_key() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class SpoolEntry:
    source: str
    business_id: int  # 0 for an unverified entry
    body: bytes
    remote_addr: str
    received_at: datetime
    key: str = field(default_factory=_new_key)
    token_sha256: str = ""  # set when the token could not be checked at the time

    @property
    def verified(self) -> bool:
        return not self.token_sha256

    def to_line(self) -> bytes:
        return json.dumps({
            "v": 2, "key": self.key, "source": self.source, "business_id": self.business_id,
            "token_sha256": self.token_sha256, "remote_addr": self.remote_addr,
            "received_at": self.received_at.isoformat(), "body": base64.b64encode(self.body).decode(),
        }).encode() + b"\n"

    @classmethod
    def from_line(cls, line: bytes) -> SpoolEntry:
        data = json.loads(line)
        # a v1 line has no key: its own bytes are one, as stable across replays as the file itself
        key = data.get("key") or hashlib.sha256(line.strip()).hexdigest()
        return cls(source=data["source"], business_id=int(data["business_id"]), remote_addr=data["remote_addr"],
                   received_at=datetime.fromisoformat(data["received_at"]), body=base64.b64decode(data["body"]),
                   key=key, token_sha256=data.get("token_sha256") or "")


class Spool:
    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._lock = threading.Lock()
        self.unverified = sum(1 for e in self._entries() if not e.verified)

    def _entries(self) -> Iterator[SpoolEntry]:
        for path in self._files():
            with path.open("rb") as f:
                yield from (SpoolEntry.from_line(line) for line in f if line.strip())

    def append_unverified(self, entry: SpoolEntry) -> bool:
        """Spool an entry whose token could not be checked; False (nothing written) once UNVERIFIED_LIMIT wait."""
        with self._lock:
            if self.unverified >= UNVERIFIED_LIMIT:
                return False
            self.unverified += 1
        try:
            self.append([entry])
        except OSError:
            with self._lock:
                self.unverified -= 1
            raise
        return True

    def keep_orphans(self, entries: list[SpoolEntry]) -> None:
        """Entries no business in the database owns: appended (fsynced) to a file the replay never reads."""
        if not entries:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.directory / ORPHANS_NAME, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, b"".join(e.to_line() for e in entries))
            os.fsync(fd)
        finally:
            os.close(fd)

    @property
    def path(self) -> Path:
        return self.directory / SPOOL_NAME

    def append(self, entries: list[SpoolEntry]) -> None:
        """Durable when it returns: written, flushed and fsynced. Raises OSError when the disk refuses."""
        data = b"".join(e.to_line() for e in entries)
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._lock, self._locked_current() as fd:
            os.write(fd, data)
            os.fsync(fd)

    @contextmanager
    def _locked_current(self) -> Iterator[int]:
        while True:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)  # renamed under us by a replayer: start again on the new file
        try:
            yield fd
        finally:
            os.close(fd)

    def depth(self) -> int:
        """Entries waiting to be replayed (lines in every spool file)."""
        total = 0
        for path in self._files():
            with path.open("rb") as f:
                total += sum(1 for line in f if line.strip())
        return total

    def _files(self) -> list[Path]:
        if not self.directory.exists():
            return []
        return sorted(self.directory.glob(SPOOL_NAME + "*"))

    def _claim(self) -> list[Path]:
        """Rename the live file aside (under its lock) and return every claimed file, oldest first."""
        if self.path.exists():
            with self._lock, self._locked_current():
                claimed = self.directory / f"{SPOOL_NAME}.replaying-{time.time_ns()}-{os.getpid()}"
                os.rename(self.path, claimed)
        return [p for p in self._files() if p.name != SPOOL_NAME]

    def replay(self, store: Callable[[list[SpoolEntry]], None], chunk: int = 200) -> int:
        """Feed every spooled entry to `store`, which commits and must skip the keys it has already stored.
        A failure leaves the file for the next try; what was committed before it is skipped then."""
        replayed = 0
        for path in self._claim():
            entries = [SpoolEntry.from_line(line) for line in path.read_bytes().splitlines() if line.strip()]
            for start in range(0, len(entries), chunk):
                store(entries[start:start + chunk])
            replayed += len(entries)
            path.unlink()
            with self._lock:
                self.unverified = max(0, self.unverified - sum(1 for e in entries if not e.verified))
        return replayed
