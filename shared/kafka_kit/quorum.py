"""Deprecated path (0.6): this module moved to :mod:`kafka_kit._internal.quorum`.

The old path serves its names, warning, until 0.7.
"""

from kafka_kit._deprecation import moved_module

__getattr__ = moved_module(__name__, "kafka_kit._internal.quorum", removal="0.7")
