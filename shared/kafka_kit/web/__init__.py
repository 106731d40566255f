"""Building blocks for HTTP services on kafka_kit, with FastAPI (extra ``web``).

This package exports the FastAPI integration of :class:`~kafka_kit.KafkaApp`
(``include_listeners``, the ``Template`` and ``KafkaAppDep`` route parameters; module
``kafka_app``). Its other modules are imported only when used: ``limits`` (body size 413,
JSON-only 415), ``auth`` (optional bearer token), ``send_failures`` (how a failed send is
answered: 503 + ``Retry-After``, 413, 502), ``topic_policy`` (which topics a request may write),
``burrow_json`` (Burrow's v3 JSON shapes over the lag monitors) and ``gc_tuning`` (the garbage
collector of a long-running service).
"""

from kafka_kit._extras import requires_extra

with requires_extra("web", __name__):
    from kafka_kit.web.kafka_app import (
        KafkaAppDep,
        Template,
        include_listeners,
        kafka_app_of,
        template_of,
    )

__all__ = ["KafkaAppDep", "Template", "include_listeners", "kafka_app_of", "template_of"]
