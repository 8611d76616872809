"""Apache Kafka from Maven Central: resolve the jars once, format KRaft storage, run one node."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.producer import MAX_REQUEST_BYTES
from stack.config import StackSettings
from stack.errors import ComponentFailed, PrerequisiteMissing, ResolveFailed
from stack.procs import ManagedProcess, ensure_port_free, wait_until

_LOG4J_VERSION = "2.24.3"

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.dvc</groupId><artifactId>kafka-runtime</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId>
      <version>{kafka}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId>
      <version>{log4j}</version></dependency>
  </dependencies>
</project>
"""

_LOG4J2 = """status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.state.name = state.change.logger
logger.state.level = WARN
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = WARN
"""


def require_java() -> str:
    java = shutil.which("java")
    if java is None:
        raise PrerequisiteMissing(
            "Java 17 or newer is needed to run the Kafka broker, and `java` is not on PATH. "
            "Install it (Debian: `apt-get install openjdk-17-jre-headless`), or set "
            "KAFKA_BOOTSTRAP_SERVERS to use an existing cluster."
        )
    return java


def resolve_jars(settings: StackSettings) -> Path:
    """Return the directory holding the broker's jars, fetching them on first use."""
    home = settings.cache_dir / f"kafka-{settings.kafka_version}"
    libs = home / "libs"
    if (home / ".complete").exists():
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise PrerequisiteMissing(
            f"Maven (`mvn`) is needed once, to fetch Apache Kafka {settings.kafka_version} from "
            f"Maven Central into {home}; it is not on PATH. Install it (Debian: "
            "`apt-get install maven`), or set KAFKA_BOOTSTRAP_SERVERS to use an existing cluster."
        )
    staging = home.with_name(home.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    (staging / "pom.xml").write_text(
        _POM.format(kafka=settings.kafka_version, log4j=_LOG4J_VERSION)
    )
    argv = [
        mvn,
        "-B",
        "-q",
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={staging / 'libs'}",
    ]
    result = subprocess.run(argv, cwd=staging, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()[-20:]
        raise ResolveFailed(
            f"Maven could not fetch org.apache.kafka:kafka_2.13:{settings.kafka_version} from "
            "Maven Central (is the registry reachable, or a proxy set in ~/.m2/settings.xml?):\n"
            + "\n".join(output)
        )
    (staging / ".complete").write_text(settings.kafka_version)
    shutil.rmtree(home, ignore_errors=True)
    staging.rename(home)
    return libs


def _server_properties(settings: StackSettings, data: Path) -> str:
    port, ctl = settings.kafka_port, settings.kafka_controller_port
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.bootstrap.servers=127.0.0.1:{ctl}",
            f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{ctl}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{ctl}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            f"log.dirs={data.resolve()}",
            "num.partitions=12",
            "auto.create.topics.enable=false",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=12",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            f"message.max.bytes={MAX_REQUEST_BYTES}",
            "",
        ]
    )


def broker_process(settings: StackSettings) -> ManagedProcess:
    """Prepare config and storage under `var/kafka`, and return the broker, not yet started."""
    java = require_java()
    libs = resolve_jars(settings)
    ensure_port_free(settings.kafka_port, what="Kafka")
    ensure_port_free(settings.kafka_controller_port, what="the Kafka controller")
    home = settings.var_dir / "kafka"
    data = home / "data"
    home.mkdir(parents=True, exist_ok=True)
    props = home / "server.properties"
    props.write_text(_server_properties(settings, data))
    log4j = home / "log4j2.properties"
    log4j.write_text(_LOG4J2)
    classpath = f"{libs.resolve()}/*"
    jvm = [
        java,
        "-Xms256m",
        f"-Xmx{settings.kafka_heap}",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={log4j.resolve()}",
        "-cp",
        classpath,
    ]
    if not (data / "meta.properties").exists():
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        fmt = subprocess.run(
            [
                *jvm,
                "kafka.tools.StorageTool",
                "format",
                "--standalone",
                # One argument: an id may start with "-", which would read as an option.
                f"--cluster-id={cluster_id}",
                "-c",
                str(props.resolve()),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if fmt.returncode != 0:
            raise ComponentFailed(
                f"Formatting Kafka storage in {data} failed:\n"
                f"{fmt.stdout[-2000:]}{fmt.stderr[-2000:]}"
            )
    return ManagedProcess(
        name="kafka",
        argv=[*jvm, "kafka.Kafka", str(props.resolve())],
        log=settings.var_dir / "log" / "kafka.log",
    )


async def _answers(bootstrap: str) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
    try:
        await admin.start()
        await admin.describe_cluster()
        return True
    except Exception:
        return False
    finally:
        await admin.close()


@contextlib.contextmanager
def _quiet(logger: str) -> Iterator[None]:
    """The client's own logging of errors it retries, silenced while they are expected."""
    client_log = logging.getLogger(logger)
    level = client_log.level
    client_log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        client_log.setLevel(level)


def wait_ready(bootstrap: str, *, timeout: float, proc: ManagedProcess | None) -> None:
    # Refused connections are expected while the broker starts; the client would log each one.
    with _quiet("aiokafka"):
        wait_until(
            lambda: asyncio.run(_answers(bootstrap)),
            timeout=timeout,
            proc=proc,
            what=f"The Kafka broker at {bootstrap}",
        )


async def ensure_topics(
    bootstrap: str, topics: list[str], compacted: set[str], *, partitions: int, replication: int
) -> list[str]:
    """Create the topics that do not exist yet, and return once the broker serves them; the
    ones created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            await admin.create_topics(
                [
                    NewTopic(
                        t,
                        partitions,
                        replication,
                        topic_configs={"cleanup.policy": "compact"} if t in compacted else {},
                    )
                    for t in missing
                ]
            )
            await _until_served(bootstrap, missing, partitions)
        return missing
    finally:
        await admin.close()


async def _until_served(
    bootstrap: str, topics: list[str], partitions: int, *, within: float = 60.0
) -> None:
    """Wait until the broker answers for every partition of the new `topics`. A new topic's
    partitions are listed with their leader a moment before the broker serves them, and every
    client that asked in between would log a `NotLeaderForPartitionError` for each."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        wanted = [TopicPartition(t, p) for t in topics for p in range(partitions)]
        with _quiet("aiokafka.consumer.fetcher"):
            # Retried by the client until each partition's leader answers.
            await asyncio.wait_for(consumer.end_offsets(wanted), within)
    except TimeoutError:
        raise ComponentFailed(
            f"The Kafka broker at {bootstrap} created {', '.join(topics)} but did not serve "
            f"them within {within:.0f} s"
        ) from None
    finally:
        await consumer.stop()


def create_topics(
    bootstrap: str, topics: list[str], compacted: set[str], *, partitions: int, replication: int
) -> list[str]:
    """Create the topics that do not exist yet; return the ones created."""
    return asyncio.run(
        ensure_topics(bootstrap, topics, compacted, partitions=partitions, replication=replication)
    )
