# One image for every service: `python -m services.<name>`; `python -m stack prepare|migrate`
# creates topics and applies migrations. Runs as uid 10001 with a read-only root filesystem
# possible: it writes only its working directory (Faust's data) and /etc/dvc/config, where
# `prepare --demo-config` puts the demo CA and offices (a fresh volume there inherits the owner).
FROM python:3.11-slim
WORKDIR /src
COPY pyproject.toml README.md ./
COPY shared shared
COPY services services
COPY stack stack
COPY testkit testkit
COPY bench bench
COPY ops ops
COPY deploy deploy
RUN pip install --no-cache-dir . \
    && groupadd --system --gid 10001 dvc \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/dvc --create-home dvc \
    && install -d -o dvc -g dvc /etc/dvc/config
USER 10001:10001
WORKDIR /var/lib/dvc
ENV LOG_FORMAT=json \
    LISTEN_HOST=0.0.0.0 \
    REQUIRE_SECRETS=true \
    PYTHONUNBUFFERED=1
