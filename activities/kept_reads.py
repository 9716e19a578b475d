"""Every activity attempt reads each link and connection from the store at most once
(`store.kept`): the steps of one activity share what they read and wrote; a retry starts afresh.
Its small writes (a QBO write noted sent or done) ride with its next transaction
(`store.deferred`), and what is left is committed before the attempt reports."""

from __future__ import annotations

import logging
from typing import Any

from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from store import Store
from store.deferred import writes_deferred
from store.kept import reads_kept

log = logging.getLogger(__name__)


class _KeepingReads(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, store: Store) -> None:
        super().__init__(next)
        self._store = store

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        with reads_kept(), writes_deferred():
            try:
                result = await super().execute_activity(input)
            except BaseException:
                try:
                    await self._store.flush_deferred()
                except Exception as exc:  # the attempt's own failure is the one to report
                    log.warning("deferred store writes not committed: %s", type(exc).__name__)
                raise
            await self._store.flush_deferred()
            return result


class KeptReadsInterceptor(Interceptor):
    def __init__(self, store: Store) -> None:
        self._store = store

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _KeepingReads(next, self._store)
