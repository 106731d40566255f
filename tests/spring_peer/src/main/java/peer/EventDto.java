package peer;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.OffsetDateTime;
import java.util.Map;
import java.util.UUID;

/** The Python services' EventDto, as a Spring service declares it (snake_case on the wire). */
public record EventDto(
        UUID id,
        String type,
        String source,
        String key,
        Map<String, Object> payload,
        @JsonProperty("occurred_at") OffsetDateTime occurredAt) {
}
