"""What every service process is made of, built once in each service's `main.py`.

One process runs the FastAPI app and the Faust app on one event loop
(`faust.contrib.asgi.faust_app_running` in the lifespan), plus the outbox relay and the
watchers. By responsibility:

- `runtime`: `Runtime` (engine, sessions, Faust app, producer, outbox relay, metrics) and
  `build_runtime`;
- `stream`: one Faust agent per consumed topic, applying batches (`shared.consumer`);
- `metrics`: the metrics every consuming service has;
- `lifespan`: start when the database and broker answer, run the background loops, stop in
  order; `serve` under uvicorn;
- `http`: the health routes and the FastAPI app with the error tree.
The figures the watchers report live in `shared.watchers`.
"""

from shared.service.http import health_router, make_api
from shared.service.lifespan import lifespan, serve
from shared.service.metrics import PipelineMetrics
from shared.service.runtime import Runtime, build_runtime, check_secrets

__all__ = [
    "PipelineMetrics",
    "Runtime",
    "build_runtime",
    "check_secrets",
    "health_router",
    "lifespan",
    "make_api",
    "serve",
]
