"""FastAPI helpers for services that write to Kafka over HTTP."""
