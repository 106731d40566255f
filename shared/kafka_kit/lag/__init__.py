"""Consumer lag and its monitoring, after LinkedIn's Burrow: windows of commits, judged by rules.

``offsets_topic`` reads commits from ``__consumer_offsets``, ``store`` keeps each partition's
window, ``evaluator`` applies Burrow's rules, ``monitor`` watches clusters (``LagMonitors``).
"""

from kafka_kit.lag.evaluator import GroupStatus, PartitionStatus, Status
from kafka_kit.lag.monitor import ClusterLagMonitor, LagMonitors
from kafka_kit.lag.store import GroupLag, LagStore, PartitionLag

__all__ = [
    "ClusterLagMonitor",
    "GroupLag",
    "GroupStatus",
    "LagMonitors",
    "LagStore",
    "PartitionLag",
    "PartitionStatus",
    "Status",
]
