package peer;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.tracing.Span;
import io.micrometer.tracing.Tracer;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.springframework.context.annotation.AnnotationConfigApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.annotation.EnableKafka;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.kafka.config.ConcurrentKafkaListenerContainerFactory;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.support.SendResult;

/**
 * The peer with observation on ({@code observationEnabled} on the template and the container):
 * {@code traced-listen} prints the trace a {@code @KafkaListener} call runs in,
 * {@code traced-send} the trace context its {@code KafkaTemplate} wrote.
 */
final class Traced {

    private Traced() {
    }

    static final Tracing TRACING = Tracing.fromEnvironment();
    static CountDownLatch received = new CountDownLatch(1);

    static String header(ConsumerRecord<?, ?> record, String name) {
        Header header = record.headers().lastHeader(name);
        return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }

    public static class TracedListener {

        private final Tracer tracer;

        TracedListener(Tracer tracer) {
            this.tracer = tracer;
        }

        @KafkaListener(topics = "${peer.topic}", groupId = "${peer.group}")
        public void on(ConsumerRecord<String, String> record) {
            Span span = this.tracer.currentSpan();
            ObjectNode line = Main.JSON.createObjectNode();
            line.put("offset", record.offset());
            line.put("traceparent", header(record, "traceparent"));
            line.put("trace_id", span == null ? null : span.context().traceId());
            line.put("span_id", span == null ? null : span.context().spanId());
            Main.print(line);
            received.countDown();
        }
    }

    @Configuration
    @EnableKafka
    static class ListenConfig {

        @Bean
        ObservationRegistry observationRegistry() {
            return TRACING.registry;
        }

        @Bean
        ConcurrentKafkaListenerContainerFactory<String, String> kafkaListenerContainerFactory() {
            var factory = new ConcurrentKafkaListenerContainerFactory<String, String>();
            factory.setConsumerFactory(Clients.stringConsumers(
                    System.getProperty("peer.bootstrap"), System.getProperty("peer.group")));
            factory.getContainerProperties().setObservationEnabled(true);
            return factory;
        }

        @Bean
        TracedListener tracedListener() {
            return new TracedListener(TRACING.tracer);
        }
    }

    @Configuration
    static class SendConfig {

        @Bean
        ObservationRegistry observationRegistry() {
            return TRACING.registry;
        }

        @Bean
        KafkaTemplate<String, String> template() {
            var template = new KafkaTemplate<>(
                    Clients.stringProducers(System.getProperty("peer.bootstrap")));
            template.setObservationEnabled(true);
            return template;
        }
    }

    static void listen(String bootstrap, String topic, String group, int count) throws Exception {
        Main.peerProperties(bootstrap, topic, group);
        received = new CountDownLatch(count);
        try (var context = new AnnotationConfigApplicationContext(ListenConfig.class)) {
            Main.await(received, count + " traced records");
        } finally {
            TRACING.close();
        }
    }

    @SuppressWarnings("unchecked")
    static void send(String bootstrap, String topic) throws Exception {
        Main.peerProperties(bootstrap, topic, "unused");
        try (var context = new AnnotationConfigApplicationContext(SendConfig.class)) {
            KafkaTemplate<String, String> template = context.getBean(KafkaTemplate.class);
            var input = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            String text;
            while ((text = input.readLine()) != null) {
                if (text.isBlank()) {
                    continue;
                }
                SendResult<String, String> sent = template.send(topic, text).get(30, TimeUnit.SECONDS);
                Header traceparent = sent.getProducerRecord().headers().lastHeader("traceparent");
                ObjectNode line = Main.JSON.createObjectNode();
                line.put("offset", sent.getRecordMetadata().offset());
                line.put("traceparent", traceparent == null ? null
                        : new String(traceparent.value(), StandardCharsets.UTF_8));
                Main.print(line);
            }
        } finally {
            TRACING.close();
        }
    }
}
