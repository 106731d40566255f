"""Quix Streams, imported once and quietly, and the names a topology uses from it.

Its import pulls in authlib (through confluent-kafka's schema registry client), which turns its
own deprecation warnings on for everyone and then warns about itself: a line on every service's
start that neither we nor the user can act on. Both happen inside ``catch_warnings``, so the
filters are as they were afterwards.
"""

from __future__ import annotations

import contextlib
import warnings

with warnings.catch_warnings():
    with contextlib.suppress(ImportError):
        # its "always" filter first, ours before it:
        import authlib.deprecate  # type: ignore[import-untyped]  # noqa: F401
    warnings.simplefilter("ignore", DeprecationWarning)
    from quixstreams import Application, State, message_context
    from quixstreams.exceptions import QuixException
    from quixstreams.internal_consumer import InternalConsumer
    from quixstreams.internal_producer import InternalProducer
    from quixstreams.kafka.exceptions import BaseKafkaException
    from quixstreams.models import Deserializer, Row, TopicConfig
    from quixstreams.state.rocksdb import RocksDBOptions
    from quixstreams.state.rocksdb.options import _shared_block_cache
    from quixstreams.utils.json import dumps
    from rocksdict import BlockBasedOptions, WriteBufferManager

__all__ = [
    "Application",
    "BaseKafkaException",
    "BlockBasedOptions",
    "Deserializer",
    "InternalConsumer",
    "InternalProducer",
    "QuixException",
    "RocksDBOptions",
    "Row",
    "State",
    "TopicConfig",
    "WriteBufferManager",
    "_shared_block_cache",
    "dumps",
    "message_context",
]
