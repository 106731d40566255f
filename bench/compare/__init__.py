"""Kafka vs RabbitMQ vs Redis Streams, live: one small workload on each, and a table."""
