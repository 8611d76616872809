"""HTTP intake for portals without Kafka: the request body becomes an event on the input topic.

The body is the event's payload (or a whole envelope). It is published before the answer, so
a 202 means the broker has the submission; validation then happens on the stream, as for any
submission, and its outcome is published on the status topic. What could not travel as an
event at all is answered here instead: a dossier id that cannot be recorded (422), a payload
nested too deep or holding integers JSON cannot carry exactly (422, naming the fields), an
event over the contract's 1 MiB (413).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import orjson
from aiokafka.errors import KafkaError
from pydantic import BaseModel

from shared.contract import (
    MAX_MESSAGE_BYTES,
    MalformedMessageError,
    decode_envelope,
    encode,
    field_path,
    make_envelope,
)
from shared.contract.bounds import readable_id, structure_problems, unreadable_id
from shared.errors import InvalidRequest, PayloadTooLarge, Unavailable
from shared.producer import Producer


class Accepted(BaseModel):
    dossier_id: str
    event_id: str


async def submit(
    *,
    producer: Producer,
    topic: str,
    body: dict[str, Any],
    event_type: str,
    key_of: Callable[[dict[str, Any]], Any],
    source: str,
    event_id: str,
    now: dt.datetime,
    id_field: str = "dossier_id",
) -> Accepted:
    """Publish the body as an event; `id_field` names the payload's id (`request_id` for
    support requests), answered as `dossier_id`."""
    is_envelope = "payload" in body and "event_type" in body
    payload = body.get("payload") if is_envelope else body
    if not isinstance(payload, dict):
        raise InvalidRequest("the envelope's payload must be a JSON object")
    problems = structure_problems(payload)
    if problems:
        raise InvalidRequest(
            "; ".join(f"{field_path(loc)[:200]}: {msg}" for loc, msg in problems[:20])
        )
    if is_envelope:
        try:
            envelope = decode_envelope(orjson.dumps(body))
        except (MalformedMessageError, orjson.JSONEncodeError) as err:
            raise InvalidRequest(f"not an envelope: {err}") from None
        if envelope.event_type != event_type:
            raise InvalidRequest(f"event_type must be {event_type!r}")
    else:
        envelope = make_envelope(
            body, event_type=event_type, event_id=event_id, occurred_at=now, source=source
        )
    dossier_id, key = readable_id(payload.get(id_field)), key_of(payload)
    if dossier_id is None:
        raise InvalidRequest(unreadable_id(id_field, payload.get(id_field)))
    if not isinstance(key, str) or not key:
        raise InvalidRequest("the payload needs its unit code")
    value = encode(envelope)
    if len(value) > MAX_MESSAGE_BYTES:
        raise PayloadTooLarge(f"the event would be {len(value)} bytes, over {MAX_MESSAGE_BYTES}")
    try:
        await producer.send_and_wait(topic, value, key=key.encode())
    except KafkaError as err:
        raise Unavailable(f"the submission could not be queued, try again: {err}") from None
    return Accepted(dossier_id=dossier_id, event_id=envelope.event_id)
