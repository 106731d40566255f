"""The REST producer: validates events and hands them to the ``KafkaTemplate``."""
