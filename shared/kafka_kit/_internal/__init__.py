"""Client plumbing the kit is built on; not public API, any name here may change.

``clients`` (aiokafka clients with bounded starts and stops), ``reachability`` (fast failure while
the cluster does not answer), ``quorum`` (KRaft's DescribeQuorum), ``cancellation`` and
``deadlines`` (bounded awaits), ``client_logs`` (aiokafka's reconnect noise condensed),
``environment`` (settings errors named by their variable), ``sqlite_file`` (a durable SQLite file).
The public names among them are exported where a user looks for them: ``kafka_kit.settings``
(``exit_if_invalid``), ``kafka_kit.outbox`` (``SqliteFile``).
"""
