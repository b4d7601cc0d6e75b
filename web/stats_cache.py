"""The dashboard's figures, computed once per filter and kept a few minutes.

Computing every indicator for years of cases takes the database a second or two, and the
roll-ups and suppression a few hundred milliseconds more of pure Python. Statistics need
not be live: the page says when its figures were computed, and views within
`CONSULINK_STATS_CACHE_SECONDS` (by the app's clock) reuse them. Viewers asking for the
same filters at once wait for one computation (async-lru shares the pending call). The
roll-ups run in a worker thread so that live sessions on the same event loop are not held
up.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

from aiohttp import web
from async_lru import alru_cache
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews.indicators import StatsQuery, compute
from interviews.stats_tables import DashboardTables, dashboard_tables
from web.keys import CLOCK, SESSIONMAKER, SETTINGS, STATS_FIGURES

MAX_QUERIES = 64  # distinct filter combinations kept


class FiguresCache:
    """Dashboard tables per query (the caller's scope is part of the query)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime],
        seconds: float,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._kept = timedelta(seconds=seconds)
        self._cached = alru_cache(maxsize=MAX_QUERIES)(self._compute) if seconds > 0 else None

    async def tables(self, query: StatsQuery) -> DashboardTables:
        """The query's tables: kept ones while younger than the period, else computed."""
        if self._cached is None:
            return await self._compute(query)
        tables = await self._cached(query)
        if self._clock() - tables.as_of < self._kept:
            return tables
        # Expired by the app's clock (not a timer), so tests move time instead of waiting.
        self._cached.cache_invalidate(query)
        return await self._cached(query)

    async def _compute(self, query: StatsQuery) -> DashboardTables:
        now = self._clock()
        raw = await compute(self._sessions, query, as_of=now)
        return await asyncio.to_thread(dashboard_tables, raw, now)

    async def close(self) -> None:
        """Forget every kept figure and stop computations still running."""
        if self._cached is not None:
            await self._cached.cache_close()


async def stats_context(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the figures cache, once the database is open."""
    cache = FiguresCache(app[SESSIONMAKER], lambda: app[CLOCK](), app[SETTINGS].stats_cache_seconds)
    app[STATS_FIGURES] = cache
    yield
    await cache.close()
