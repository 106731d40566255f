package reference;

import com.fasterxml.jackson.annotation.JsonProperty;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Size;
import java.time.OffsetDateTime;
import java.util.Map;
import java.util.UUID;

/** The same contract as producer_service's EventDto: ids and times default, unknown fields refused. */
public record EventDto(
        UUID id,
        @NotNull @Size(min = 1, max = 256) String type,
        @NotNull @Size(min = 1, max = 256) String source,
        @Size(max = 1024) String key,
        Map<String, Object> payload,
        @JsonProperty("occurred_at") OffsetDateTime occurredAt) {

    public EventDto {
        id = id != null ? id : UUID.randomUUID();
        payload = payload != null ? payload : Map.of();
        occurredAt = occurredAt != null ? occurredAt : OffsetDateTime.now();
    }
}
