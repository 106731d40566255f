"""Benchmarks: the product measured side by side with raw aiokafka, FastStream and Kafka's tools."""
