"""Consumer lag and its monitoring, after LinkedIn's Burrow: windows of commits, judged by rules.

``offsets_topic`` reads commits from ``__consumer_offsets``, ``store`` keeps each partition's
window, ``evaluator`` applies Burrow's rules, ``monitor`` watches clusters (``LagMonitors``).
"""

from kafka_kit.lag.evaluator import GroupStatus, PartitionStatus, Status
from kafka_kit.lag.history import LagHistory, LagPoint
from kafka_kit.lag.monitor import ClusterLagMonitor, LagMonitors
from kafka_kit.lag.reasons import status_reason
from kafka_kit.lag.store import GroupLag, LagStore, PartitionLag

__all__ = [
    "ClusterLagMonitor",
    "GroupLag",
    "GroupStatus",
    "LagHistory",
    "LagMonitors",
    "LagPoint",
    "LagStore",
    "PartitionLag",
    "PartitionStatus",
    "Status",
    "status_reason",
]
