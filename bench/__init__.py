"""`make bench`: throughput, latency and the distance to Kafka's own ceiling, in one run."""
