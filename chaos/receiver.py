"""A portal's webhook endpoint, in a process of its own.

The run's own process reads the whole status topic and counts every promise every few
seconds; a portal's answers must not wait on that, or notify would see slow answers that
no real portal gives. `python -m chaos.receiver PORT CALLS` listens on 127.0.0.1:PORT with
the secret in `CHAOS_WEBHOOK_SECRET`, answers `GET /healthz` once it listens, answers 500
between a `PUT /failing` of `1` and one of `0`, and appends one JSON line per call to
CALLS: `{"dossier_id", "sequence", "verified"}`, or `{"refused": true}` for a call
answered 500.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sys
from pathlib import Path
from typing import IO

import orjson
from aiohttp import web


async def _healthz(_: web.Request) -> web.Response:
    return web.Response(status=200)


def app(secret: bytes, calls: IO[bytes]) -> web.Application:
    failing = False

    async def switch(request: web.Request) -> web.Response:
        nonlocal failing
        failing = (await request.text()).strip() == "1"
        return web.Response(status=204)

    async def hook(request: web.Request) -> web.Response:
        try:
            body = await request.read()
        except ConnectionResetError:
            # notify gave up waiting (its timeout) and closed the call: a call that never
            # arrived whole, as a portal would see it. notify counts it in doubt and calls again.
            return web.Response(status=400)
        if failing:
            calls.write(b'{"refused":true}\n')
            calls.flush()
            return web.Response(status=500, text="the portal is down")
        digest = hmac.new(secret, body, hashlib.sha256).hexdigest()
        verified = hmac.compare_digest(request.headers.get("X-Signature", ""), f"sha256={digest}")
        doc = orjson.loads(body)
        payload = doc.get("payload", doc)
        line = {
            "dossier_id": payload["dossier_id"],
            "sequence": payload["sequence"],
            "verified": verified,
        }
        calls.write(orjson.dumps(line) + b"\n")
        calls.flush()
        return web.Response(status=204)

    application = web.Application()
    application.router.add_post("/hook", hook)
    application.router.add_put("/failing", switch)
    application.router.add_get("/healthz", _healthz)
    return application


def main() -> None:
    port, calls = int(sys.argv[1]), Path(sys.argv[2])
    secret = os.environ["CHAOS_WEBHOOK_SECRET"].encode()
    with calls.open("ab") as out:
        web.run_app(app(secret, out), host="127.0.0.1", port=port, print=None)


if __name__ == "__main__":
    main()
