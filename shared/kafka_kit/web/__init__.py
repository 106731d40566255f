"""Building blocks for HTTP services on kafka_kit, with FastAPI (extra ``web``).

``limits`` (body size 413, JSON-only 415), ``auth`` (optional bearer token), ``send_failures``
(how a failed send is answered: 503 + ``Retry-After``, 413, 502), ``topic_policy`` (which topics a
request may write), ``burrow_json`` (Burrow's v3 JSON shapes over the lag monitors) and
``gc_tuning`` (the garbage collector of a long-running service). Importing this package imports
none of them.
"""

__all__: list[str] = []
