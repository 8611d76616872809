"""What two or more services need: the contract, settings, Kafka/DB factories, observability."""
