"""HTTP intake for portals without Kafka: the request body becomes an event on the input topic.

The body is the event's payload (or a whole envelope). It is published before the answer, so
a 202 means the broker has the submission; validation then happens on the stream, as for any
submission, and its outcome is published on the status topic.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import orjson
from aiokafka.errors import KafkaError
from pydantic import BaseModel

from shared.contract import MalformedMessageError, decode_envelope, encode, make_envelope
from shared.errors import InvalidRequest, Unavailable
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
) -> Accepted:
    if "payload" in body and "event_type" in body:
        try:
            envelope = decode_envelope(orjson.dumps(body))
        except MalformedMessageError as err:
            raise InvalidRequest(str(err)) from None
        if envelope.event_type != event_type:
            raise InvalidRequest(f"event_type must be {event_type!r}")
    else:
        envelope = make_envelope(
            body, event_type=event_type, event_id=event_id, occurred_at=now, source=source
        )
    payload = envelope.payload
    dossier_id, key = payload.get("dossier_id"), key_of(payload)
    if not isinstance(dossier_id, str) or not dossier_id:
        raise InvalidRequest("the payload needs a `dossier_id`")
    if not isinstance(key, str) or not key:
        raise InvalidRequest("the payload needs its unit code")
    try:
        await producer.send_and_wait(topic, encode(envelope), key=key.encode())
    except KafkaError as err:
        raise Unavailable(f"the submission could not be queued, try again: {err}") from None
    return Accepted(dossier_id=dossier_id, event_id=envelope.event_id)
