"""`dvc`, the operators' command: dead letters, traces, reconciliation, re-sync, lag and outbox.

It reads the same settings as the services and talks to Kafka and PostgreSQL directly; it
imports nothing from `services`, only from `shared`, so it runs where no service is installed.
"""
