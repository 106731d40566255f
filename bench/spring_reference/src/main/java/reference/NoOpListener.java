package reference;

import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.ObjectMapper;

/**
 * A @KafkaListener that parses each EventDto and does nothing else. GET /listener shows its pace
 * after the first {@code reference.listener-warmup} records (the JIT's warm-up, not counted).
 */
@RestController
public class NoOpListener {
    private final ObjectMapper mapper;
    private final long warmup;
    private final AtomicLong handled = new AtomicLong();
    private volatile long warmNanos;
    private volatile long lastNanos;

    public NoOpListener(ObjectMapper mapper, @Value("${reference.listener-warmup}") long warmup) {
        this.mapper = mapper;
        this.warmup = Math.max(1, warmup); // the pace is taken from this record on
    }

    @KafkaListener(
            id = "reference",
            topics = "${reference.listener-topic}",
            groupId = "${reference.listener-group}",
            autoStartup = "${reference.listener-enabled}")
    public void handle(String value) {
        mapper.readValue(value, EventDto.class);
        long now = System.nanoTime();
        if (handled.incrementAndGet() == warmup) {
            warmNanos = now;
        }
        lastNanos = now;
    }

    @GetMapping("/listener")
    public Map<String, Object> pace() {
        long counted = handled.get() - warmup;
        double seconds = (lastNanos - warmNanos) / 1e9;
        return Map.of("handled", handled.get(), "rate", counted > 0 && seconds > 0 ? counted / seconds : 0.0);
    }
}
