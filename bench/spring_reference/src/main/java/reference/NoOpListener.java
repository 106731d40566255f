package reference;

import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.ObjectMapper;

/** A @KafkaListener that parses each EventDto and does nothing else; GET /listener shows its pace. */
@RestController
public class NoOpListener {
    private final ObjectMapper mapper;
    private final AtomicLong handled = new AtomicLong();
    private volatile long firstNanos;
    private volatile long lastNanos;

    public NoOpListener(ObjectMapper mapper) {
        this.mapper = mapper;
    }

    @KafkaListener(
            id = "reference",
            topics = "${reference.listener-topic}",
            groupId = "${reference.listener-group}",
            autoStartup = "${reference.listener-enabled}")
    public void handle(String value) {
        mapper.readValue(value, EventDto.class);
        long now = System.nanoTime();
        if (handled.getAndIncrement() == 0) {
            firstNanos = now;
        }
        lastNanos = now;
    }

    @GetMapping("/listener")
    public Map<String, Object> pace() {
        return Map.of("handled", handled.get(), "seconds", (lastNanos - firstNanos) / 1e9);
    }
}
