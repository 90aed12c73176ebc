"""Crash-safe checkpoints for batch jobs.

After every chunk a job fsyncs its output files and then atomically replaces a small JSON
checkpoint recording how many input records are done and the byte offsets the output files
end at. ``--resume`` truncates the outputs back to those offsets (dropping anything written
after the last checkpoint, e.g. by a process killed with -9) and skips the records already
done, so no row is lost or repeated.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from triage.errors import InputError

CHECKPOINT_VERSION = 1
_EDGE_BYTES = 1 << 16


def fingerprint(path: str | Path) -> dict[str, Any]:
    """Cheap identity of an input file: size, mtime and a hash of its first and last 64 KiB."""
    p = Path(path)
    st = p.stat()
    digest = hashlib.sha256()
    with p.open("rb") as f:
        digest.update(f.read(_EDGE_BYTES))
        if st.st_size > 2 * _EDGE_BYTES:
            f.seek(-_EDGE_BYTES, os.SEEK_END)
            digest.update(f.read(_EDGE_BYTES))
    return {
        "name": p.name,
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "sha256_edges": digest.hexdigest(),
    }


@dataclass(slots=True)
class Checkpoint:
    kind: str
    fingerprint: dict[str, Any]
    options: dict[str, Any]
    chunks_done: int = 0
    rows_read: int = 0
    rows_written: int = 0
    rows_failed: int = 0
    offsets: dict[str, int] = field(default_factory=dict)  # file role -> byte offset
    elapsed: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    version: int = CHECKPOINT_VERSION

    def save(self, path: Path) -> None:
        atomic_write_json(path, asdict(self))

    @classmethod
    def load(cls, path: Path) -> Checkpoint:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") != CHECKPOINT_VERSION:
                raise ValueError(f"version {data.get('version')}")
            return cls(**data)
        except (OSError, ValueError, TypeError) as exc:
            raise InputError(
                f"checkpoint {path} is unreadable ({exc}); delete it and run without --resume",
                code="bad_checkpoint",
            ) from None

    def check_matches(self, kind: str, fp: dict[str, Any], options: dict[str, Any]) -> None:
        """Refuse to resume a different job or a changed input file."""
        if self.kind != kind:
            raise InputError(
                f"checkpoint belongs to a '{self.kind}' job, not '{kind}'", code="bad_checkpoint"
            )
        if self.fingerprint != fp:
            raise InputError(
                "the input file changed since the checkpoint was written; run without --resume",
                code="checkpoint_mismatch",
            )
        changed = sorted(k for k in set(self.options) | set(options) if self.options.get(k) != options.get(k))
        if changed:
            raise InputError(
                f"options differ from the interrupted run ({', '.join(changed)}); "
                "resume with the same options or run without --resume",
                code="checkpoint_mismatch",
            )


def atomic_write_json(path: Path, data: Any) -> None:
    """Write-to-temp, fsync, rename: readers see the old or the new file, never half of one."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1, default=str)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def truncate_to(path: Path, offset: int) -> None:
    """Cut a file back to a checkpointed length (it may hold rows written after the checkpoint)."""
    if not path.exists():
        raise InputError(f"{path} is missing; cannot resume (run without --resume)", code="bad_checkpoint")
    if path.stat().st_size < offset:
        raise InputError(f"{path} is shorter than the checkpoint says; cannot resume", code="bad_checkpoint")
    with path.open("r+b") as f:
        f.truncate(offset)
        f.flush()
        os.fsync(f.fileno())
