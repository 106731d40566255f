"""The template's parts, split by job as aiokafka splits its producer (producer, sender,
accumulator, transaction manager).

``listener`` (Spring's ``ProducerListener`` and how it is called), ``failures`` (which failed
sends break the producer, which mean the cluster may be away), ``partitions`` (which partition
the template picks, and when it leaves that to the producer), ``metrics`` (send counts and
latency, batched per topic) and ``transactions`` (one open transaction per producer, offsets sent
in it). :class:`~kafka_kit.template.KafkaTemplate` composes them; import it, not these.
"""

from kafka_kit.sending.listener import LoggingProducerListener, ProducerListener

__all__ = ["LoggingProducerListener", "ProducerListener"]
