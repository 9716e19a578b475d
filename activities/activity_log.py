"""record_activity: one line in the company's activity log, written once however often retried."""

from __future__ import annotations

from temporalio import activity

from activities.models import ActivityLogInput, ConnectionQuery
from store import ActivityLogEntry, Store


class ActivityLogActivities:
    def __init__(self, store: Store) -> None:
        self._store = store

    @activity.defn(name="record_activity")
    async def record_activity(self, input: ActivityLogInput) -> None:
        info = activity.info()
        await self._store.append_activity(
            ActivityLogEntry(
                entry_key=f"{info.workflow_run_id}/{info.activity_id}",
                workflow_id=input.workflow_id or info.workflow_id or "",
                **input.model_dump(exclude={"workflow_id"}),
            )
        )

    @activity.defn(name="connection_state")
    async def connection_state(self, input: ConnectionQuery) -> str:
        """connected | reconnect_required | disconnected | missing (a waiting workflow's check)."""
        conn = await self._store.get_connection(input.company_id)
        return "missing" if conn is None else conn.status
