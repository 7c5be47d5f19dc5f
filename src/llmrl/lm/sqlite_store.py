"""A key -> bytes table in one SQLite file: shared by several processes, never fatal when damaged."""

import sqlite3
import threading
import time
import warnings
from pathlib import Path


class SqliteStore:
    """Persistent key/value store (WAL mode, so several processes can read and write it at once).

    A file that is not a valid database is moved aside (to `<name>.corrupt-<time>`)
    and rebuilt, with a warning. An error while the run goes on (disk full, file
    damaged by something else) is warned about once and the entry treated as
    missing: a cache must never end a run.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._warned = False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = self._open()
        except sqlite3.DatabaseError as error:
            aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
            # stacklevel 2: report the code that opened the cache.
            warnings.warn(
                f"cache {self.path} is unreadable ({error}); moved it to {aside} and started a new one", stacklevel=2
            )
            self.path.rename(aside)
            for suffix in ("-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            self._conn = self._open()

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, value BLOB NOT NULL)")
            conn.execute("SELECT count(*) FROM entries").fetchone()
        except sqlite3.DatabaseError:
            conn.close()
            raise
        return conn

    def _degrade(self, error: sqlite3.Error) -> None:
        if not self._warned:
            # stacklevel 3: report the caller of get/put, not this helper.
            warnings.warn(f"cache {self.path} failed ({error}); going on without it for these entries", stacklevel=3)
            self._warned = True

    def get(self, key: str) -> bytes | None:
        """The value stored under `key`, or None; counts a hit or a miss."""
        try:
            with self._lock:
                row = self._conn.execute("SELECT value FROM entries WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error as error:
            self._degrade(error)
            row = None
        if row is None:
            self.misses += 1
            return None
        self.hits += 1
        return bytes(row[0])

    def put(self, key: str, value: bytes) -> None:
        """Store `value` under `key` (replacing any older value)."""
        try:
            with self._lock:
                self._conn.execute("INSERT OR REPLACE INTO entries (key, value) VALUES (?, ?)", (key, value))
        except sqlite3.Error as error:
            self._degrade(error)

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM entries").fetchone()[0])

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()
