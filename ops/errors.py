"""What `dvc` refuses or cannot reach, each with a message an operator can act on::

OpsError                  exit 1 with the message, on one line
├── BrokerUnreachable     Kafka did not answer at the configured address
├── DatabaseUnreachable   PostgreSQL did not answer, or the schema is missing
├── NotFound              no such dossier, dead letter or unit
└── Refused               the operation would repeat or break something (a second replay)
"""

from __future__ import annotations


class OpsError(Exception):
    """Base of every error `dvc` reports; the command prints it and exits 1."""


class BrokerUnreachable(OpsError):
    def __init__(self, bootstrap: str, detail: str) -> None:
        super().__init__(
            f"Kafka is unreachable at {bootstrap} ({detail}); "
            "set KAFKA_BOOTSTRAP_SERVERS=host:port,… to the cluster's brokers."
        )


class DatabaseUnreachable(OpsError):
    def __init__(self, where: str, detail: str) -> None:
        super().__init__(
            f"PostgreSQL is unreachable at {where} ({detail}); "
            "set DATABASE_URL=postgresql://user:password@host:port/database."
        )


class NotFound(OpsError):
    pass


class Refused(OpsError):
    pass
