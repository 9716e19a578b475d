"""Decrypting a whole workflow history, e.g. to keep it in the replay corpus readable by any key."""

from __future__ import annotations

from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowHistory
from temporalio.converter import PayloadCodec

PAYLOAD = Payload.DESCRIPTOR.full_name


async def decode_payloads_in(message: Message, codec: PayloadCodec) -> None:
    """Decode, in place, every payload anywhere in `message` (inputs, results, failures' encoded
    attributes, memo, headers, heartbeat details, user metadata)."""
    for field, value in message.ListFields():
        entry = field.message_type
        if entry is None:  # a scalar or an enum
            continue
        if entry.GetOptions().map_entry:
            values = entry.fields_by_name["value"].message_type
            for key in list(value):
                if values is None:
                    break
                if values.full_name == PAYLOAD:
                    (decoded,) = await codec.decode([value[key]])
                    value[key].CopyFrom(decoded)
                else:
                    await decode_payloads_in(value[key], codec)
        elif entry.full_name == PAYLOAD:
            if field.is_repeated:
                decoded_all = await codec.decode(list(value))
                del value[:]
                value.extend(decoded_all)
            else:
                (decoded,) = await codec.decode([value])
                value.CopyFrom(decoded)
        elif field.is_repeated:
            for item in value:
                await decode_payloads_in(item, codec)
        else:
            await decode_payloads_in(value, codec)


async def decoded_history(history: WorkflowHistory, codec: PayloadCodec) -> WorkflowHistory:
    """A copy of `history` with every payload decoded by `codec`."""
    events = []
    for event in history.events:
        copy = type(event)()
        copy.CopyFrom(event)
        await decode_payloads_in(copy, codec)
        events.append(copy)
    return WorkflowHistory(history.workflow_id, events)
