package reference;

import jakarta.validation.Valid;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.http.HttpStatus;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

/** POST /events: validate, send, answer 202 with partition and offset once Kafka acknowledged. */
@RestController
public class EventController {
    private final KafkaTemplate<String, EventDto> template;
    private final String topic;

    public EventController(KafkaTemplate<String, EventDto> template, @Value("${reference.topic}") String topic) {
        this.template = template;
        this.topic = topic;
    }

    @PostMapping("/events")
    @ResponseStatus(HttpStatus.ACCEPTED)
    public EventAccepted post(@Valid @RequestBody EventDto event)
            throws InterruptedException, ExecutionException {
        RecordMetadata sent = template.send(topic, event.key(), event).get().getRecordMetadata();
        return new EventAccepted(event.id(), "sent", sent.topic(), sent.partition(), sent.offset());
    }
}
