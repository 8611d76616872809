# One image for the four services: `python -m services.<name>`.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY shared shared
COPY services services
COPY stack stack
COPY testkit testkit
COPY bench bench
COPY ops ops
COPY deploy deploy
RUN pip install --no-cache-dir . && useradd --system --uid 10001 dvc
USER dvc
ENV LOG_FORMAT=json
