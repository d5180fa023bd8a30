"""Kafka adapters over confluent-kafka: client configuration, probes, offset reads."""
