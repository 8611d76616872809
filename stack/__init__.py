"""The local stack: a real Kafka broker, PostgreSQL and an SMTP sink, started as child processes.

Used by `make run`, by the test suite and by the benchmark, so all three run against the same
real services. Set `KAFKA_BOOTSTRAP_SERVERS`, `DATABASE_URL` or `SMTP_HOST` to use existing ones.
"""
