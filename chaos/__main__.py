"""`python -m chaos`: one run with the settings of the environment (see chaos/settings.py)."""

from __future__ import annotations

import asyncio
import logging
import sys

from rich.console import Console

from chaos.run import Run
from chaos.settings import ChaosSettings


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    # The broker is down on purpose for a while: its clients' retries are not news.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    console = Console()
    return asyncio.run(Run(ChaosSettings(), console).main())


if __name__ == "__main__":
    sys.exit(main())
