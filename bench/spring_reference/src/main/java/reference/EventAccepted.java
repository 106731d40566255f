package reference;

import java.util.UUID;

/** Where Kafka stored an accepted event, as producer_service answers it. */
public record EventAccepted(UUID id, String status, String topic, int partition, long offset) {}
