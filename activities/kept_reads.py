"""Every activity attempt reads each link and connection from the store at most once
(`store.kept`): the steps of one activity share what they read and wrote; a retry starts afresh."""

from __future__ import annotations

from typing import Any

from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from store.kept import reads_kept


class _KeepingReads(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        with reads_kept():
            return await super().execute_activity(input)


class KeptReadsInterceptor(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _KeepingReads(next)
