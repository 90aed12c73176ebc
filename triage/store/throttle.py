"""Login throttling shared by every worker: progressive delays kept in ``login_counters``.

Three counters see each attempt: the client address (one address guessing many accounts), the
(account, address) pair (one address guessing one account) and the account across all addresses
(distributed guessing). Delays double per failure once a counter passes its free allowance.
An attacker elsewhere can therefore not lock the real user out: the pair and address counters
only slow the attacker's own address, and the per-account counter has a much higher allowance
and a short cap. A pair that has logged in successfully before (within ``trusted``) answers only
to its own counter, so a user behind the same NAT or proxy as the attacker keeps logging in.

An attempt is counted *before* the password is checked (and given back on success), inside a
write transaction that locks the rows, so parallel guesses cannot all slip past the same check.
Keys are SHA-256 digests: names typed into the login form (sometimes a password) are not stored.
"""

from __future__ import annotations

import hashlib
import ipaddress
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select

from triage.store.db import Database, rows_matched
from triage.store.models import LoginCounter, utcnow

PAIR, ADDRESS, ACCOUNT = "pair", "address", "account"
PRUNE_EVERY = 200  # attempts per process between deletions of forgotten counters


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """Free failures per counter kind, delay caps, and how long failures and successes count."""

    pair_free: int = 5
    address_free: int = 20
    account_free: int = 100
    max_delay: float = 900.0
    account_max_delay: float = 30.0
    window: timedelta = timedelta(hours=1)
    trusted: timedelta = timedelta(days=30)

    @classmethod
    def from_settings(cls, settings: Any) -> ThrottlePolicy:
        return cls(
            pair_free=settings.login_pair_free_failures,
            address_free=settings.login_address_free_failures,
            account_free=settings.login_account_free_failures,
            max_delay=settings.login_max_delay_seconds,
            account_max_delay=settings.login_account_max_delay_seconds,
            window=timedelta(minutes=settings.login_window_minutes),
            trusted=timedelta(days=settings.login_trusted_days),
        )

    def delay(self, kind: str, failures: int) -> float:
        """Seconds to wait after ``failures`` counted failures: 0, then 1, 2, 4 … up to the cap."""
        free = {PAIR: self.pair_free, ADDRESS: self.address_free, ACCOUNT: self.account_free}[kind]
        if failures < free:
            return 0.0
        cap = self.account_max_delay if kind == ACCOUNT else self.max_delay
        return float(min(2.0 ** min(failures - free, 30), cap))


def address_key(address: str | None) -> str:
    """The client address a counter is kept for: IPv6 by /64 (one subscriber's whole prefix)."""
    text = (address or "").strip()
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return text[:64] or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


class LoginThrottle:
    """``begin`` before checking a password, then ``succeeded`` if it was right."""

    def __init__(
        self, db: Database, policy: ThrottlePolicy | None = None, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.db, self.policy, self.clock = db, policy or ThrottlePolicy(), clock
        self._attempts = 0
        self._lock = threading.Lock()

    def _keys(self, username: str, address: str | None) -> dict[str, str]:
        where = address_key(address)
        return {
            PAIR: _digest(PAIR, username, where),
            ADDRESS: _digest(ADDRESS, where),
            ACCOUNT: _digest(ACCOUNT, username),
        }

    def _locked_rows(self, session: Any, keys: dict[str, str]) -> dict[str, LoginCounter]:
        """The three counters, created if missing and locked for this transaction."""
        dialect = postgresql if self.db.is_postgres else sqlite
        rows = [{"key": key, "kind": kind, "failures": 0} for kind, key in keys.items()]
        session.execute(dialect.insert(LoginCounter).values(rows).on_conflict_do_nothing())
        found = session.exec(
            select(LoginCounter).where(col(LoginCounter.key).in_(keys.values())).with_for_update()
        ).all()
        by_key = {row.key: row for row in found}
        return {kind: by_key[key] for kind, key in keys.items()}

    def begin(self, username: str, address: str | None) -> float:
        """Count an attempt; 0 when it may go ahead, else the seconds to wait (nothing counted)."""
        now, policy = self.clock(), self.policy
        with self.db.session(write=True) as session:
            rows = self._locked_rows(session, self._keys(username, address))
            for row in rows.values():
                if row.last_failure_at is None or row.last_failure_at <= now - policy.window:
                    row.failures, row.next_allowed_at = 0, None
            pair = rows[PAIR]
            trusted = pair.last_success_at is not None and pair.last_success_at > now - policy.trusted
            # A pair that logged in before answers only to its own counter: spraying from the same
            # address (a shared NAT or proxy) or guessing from elsewhere does not delay it.
            considered = [pair] if trusted else [pair, rows[ADDRESS], rows[ACCOUNT]]
            waits = [(r.next_allowed_at - now).total_seconds() for r in considered if r.next_allowed_at]
            wait = max([0.0, *waits])
            if wait <= 0:
                for kind, row in rows.items():
                    row.failures += 1
                    row.last_failure_at = now
                    pause = policy.delay(kind, row.failures)
                    row.next_allowed_at = now + timedelta(seconds=pause) if pause else None
            session.add_all(rows.values())
        self._maybe_prune(now)
        return wait

    def succeeded(self, username: str, address: str | None) -> None:
        """The password was right: clear the pair, give back the attempt to the other counters."""
        now, policy = self.clock(), self.policy
        with self.db.session(write=True) as session:
            rows = self._locked_rows(session, self._keys(username, address))
            rows[PAIR].failures, rows[PAIR].next_allowed_at = 0, None
            rows[PAIR].last_success_at = now
            for kind in (ADDRESS, ACCOUNT):
                row = rows[kind]
                row.failures = max(row.failures - 1, 0)
                pause = policy.delay(kind, row.failures)
                row.next_allowed_at = now + timedelta(seconds=pause) if pause else None
            session.add_all(rows.values())

    def _maybe_prune(self, now: datetime) -> None:
        with self._lock:
            self._attempts += 1
            if self._attempts % PRUNE_EVERY:
                return
        self.prune(now)

    def prune(self, now: datetime | None = None) -> int:
        """Delete counters with no failure inside the window and no success still trusted."""
        now = now or self.clock()
        forgotten = sa.delete(LoginCounter).where(
            col(LoginCounter.last_failure_at) <= now - self.policy.window,
            sa.or_(
                col(LoginCounter.last_success_at).is_(None),
                col(LoginCounter.last_success_at) <= now - self.policy.trusted,
            ),
        )
        with self.db.session(write=True) as session:
            return int(rows_matched(session.execute(forgotten)) or 0)
