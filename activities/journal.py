"""Exactly once per QBO write: a write is noted in the store before it is sent and when it is done,
so a retry after a lost reply or a killed worker finds the effect of this very request first.

A "sent" note means the write may have committed: the retry skips the checks against QBO state
(they would see its own effect) and sends the noted write again with the same requestid, which QBO
answers from its stored reply if it committed. A "done" note is reported without calling QBO.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

from activities.common import Deps, request_id
from activities.models import SyncOutcome
from qbo import QBOClient, StaleObjectError, ValidationFaultError, wire
from qbo import models as q
from qbo.errors import ForbiddenError, QBOError
from qbo.models import QBOModel
from store import Store
from store.tables import JournaledWrite

R = TypeVar("R", bound=BaseModel)

Operation = Literal["create", "update", "delete", "void"]


class QBOWrite(BaseModel):
    """One QBO write as sent: sent again unchanged, same requestid, while it may have committed."""

    operation: Operation
    entity: str  # the QBO entity name: "Payment", "Invoice", ...
    body: dict[str, Any]  # the entity (create, update); Id and SyncToken (delete, void)
    request_id: str = ""  # filled in by `write_once`
    sparse: bool = True  # an update: False sends the whole entity (what it omits is cleared)

    @classmethod
    def of(
        cls, operation: Literal["create", "update"], entity: QBOModel, sparse: bool = True
    ) -> QBOWrite:
        return cls(
            operation=operation, entity=type(entity).__name__, body=entity.body(), sparse=sparse
        )

    @classmethod
    def on(
        cls,
        operation: Literal["delete", "void"],
        model: type[QBOModel],
        entity_id: str,
        sync_token: str,
    ) -> QBOWrite:
        return cls(
            operation=operation,
            entity=model.__name__,
            body={"Id": entity_id, "SyncToken": sync_token},
        )

    async def send(self, qbo: QBOClient, realm_id: str) -> QBOModel | None:
        """QBO's answer: the saved entity, or None for a delete."""
        model: type[QBOModel] = getattr(q, self.entity)
        if self.operation == "create":
            return await qbo.create(realm_id, model.model_validate(self.body), self.request_id)
        if self.operation == "update":
            return await qbo.update(
                realm_id, model.model_validate(self.body), self.request_id, sparse=self.sparse
            )
        entity_id, sync_token = str(self.body["Id"]), str(self.body["SyncToken"])
        if self.operation == "delete":
            await qbo.delete(realm_id, model, entity_id, sync_token, self.request_id)
            return None
        return await qbo.void(realm_id, model, entity_id, sync_token, self.request_id)


@dataclass(frozen=True)
class Planned:
    """What a step writes, and what its report needs that only the look-up before it knew."""

    write: QBOWrite
    note: dict[str, Any] = field(default_factory=dict)
    # The step the QBO requestid is derived from, when not the journal's own (e.g. an update's
    # requestid names the SyncToken it was based on; ids stay as earlier releases sent them).
    request_step: str | None = None
    # A requestid fixed by the step itself, not derived from this workflow (see `request_key`).
    fixed_request_id: str | None = None


def refused(exc: QBOError) -> bool:
    """QBO answered and refused: nothing was written (a committed requestid replays its reply)."""
    return isinstance(exc, ValidationFaultError | StaleObjectError | ForbiddenError)


async def write_once(
    store: Store,
    qbo: QBOClient,
    company_id: str,
    realm_id: str,
    step: str,
    plan: Callable[[], Awaitable[Planned | R]],
    finish: Callable[[QBOModel | None, dict[str, Any]], Awaitable[R]],
    outcome_model: type[R],
) -> R:
    """The step's write, exactly once: `plan` looks at QBO and decides (or reports that nothing
    is to write); `finish` records what the write did (links) and says so."""
    key = request_id(step)
    entry = await store.get_journaled_write(realm_id, key)
    if entry is not None and entry.outcome is not None:
        return outcome_model.model_validate_json(entry.outcome)
    if entry is None:
        planned = await plan()
        if not isinstance(planned, Planned):
            return planned
        write = planned.write.model_copy(
            update={
                "request_id": planned.fixed_request_id or request_id(planned.request_step or step)
            }
        )
        entry = await store.note_write_sent(
            JournaledWrite(
                realm_id=realm_id,
                journal_key=key,
                company_id=company_id,
                request=wire.dumps(write.model_dump()),
                note=wire.dumps(planned.note),
            )
        )
    write = QBOWrite.model_validate(wire.loads(entry.request))
    try:
        saved = await write.send(qbo, realm_id)
    except QBOError as exc:
        if refused(exc):
            await store.forget_write(realm_id, key)
        raise
    outcome = await finish(saved, wire.loads(entry.note))
    await store.note_write_done(realm_id, key, outcome.model_dump_json())
    return outcome


class JournaledActivities:
    """Activities whose QBO writes all go through the journal and report a `SyncOutcome`."""

    def __init__(self, deps: Deps) -> None:
        self._store: Store = deps.store
        self._qbo = deps.qbo

    async def _write_once(
        self,
        company_id: str,
        realm: str,
        step: str,
        plan: Callable[[], Awaitable[Planned | SyncOutcome]],
        finish: Callable[[QBOModel | None, dict[str, Any]], Awaitable[SyncOutcome]],
    ) -> SyncOutcome:
        return await write_once(
            self._store, self._qbo, company_id, realm, step, plan, finish, SyncOutcome
        )
