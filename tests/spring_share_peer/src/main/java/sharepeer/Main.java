package sharepeer;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.springframework.context.annotation.AnnotationConfigApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.annotation.EnableKafka;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.kafka.config.ShareKafkaListenerContainerFactory;
import org.springframework.kafka.core.DefaultShareConsumerFactory;
import org.springframework.kafka.core.ShareConsumerFactory;

/**
 * share-listen TOPIC GROUP CONCURRENCY: a {@code @KafkaListener} on a share container factory
 * (Spring's way to a share group) printing one JSON line per record it accepted, until stdin
 * closes. Records are accepted implicitly when the listener returns, as the kit's are.
 */
public final class Main {

    private Main() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 4 || !args[0].equals("share-listen")) {
            System.err.println("usage: share-listen TOPIC GROUP CONCURRENCY");
            System.exit(2);
        }
        System.setProperty("peer.bootstrap", System.getenv("KAFKA_BOOTSTRAP_SERVERS"));
        System.setProperty("peer.topic", args[1]);
        System.setProperty("peer.group", args[2]);
        System.setProperty("peer.concurrency", args[3]);
        try (var context = new AnnotationConfigApplicationContext(ShareConfig.class)) {
            System.out.println("{\"started\": true}");
            System.out.flush();
            var input = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            while (input.readLine() != null) {
                // the test closes stdin when it has seen every record
            }
        }
    }

    /** The listener: one line per record, then a short pause (work takes time). */
    public static class Worker {

        @KafkaListener(topics = "${peer.topic}", groupId = "${peer.group}",
                containerFactory = "shareKafkaListenerContainerFactory")
        public void on(ConsumerRecord<String, String> record) throws InterruptedException {
            synchronized (System.out) {
                System.out.println("{\"partition\": " + record.partition() + ", \"offset\": "
                        + record.offset() + "}");
                System.out.flush();
            }
            Thread.sleep(5);
        }
    }

    @Configuration
    @EnableKafka
    static class ShareConfig {

        @Bean
        ShareConsumerFactory<String, String> shareConsumerFactory() {
            Map<String, Object> props = new HashMap<>();
            props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, System.getProperty("peer.bootstrap"));
            props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
            props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
            // A few records per fetch, as the kit's members in the test take: both get work.
            props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5);
            return new DefaultShareConsumerFactory<>(props);
        }

        @Bean
        ShareKafkaListenerContainerFactory<String, String> shareKafkaListenerContainerFactory(
                ShareConsumerFactory<String, String> shareConsumerFactory) {
            var factory = new ShareKafkaListenerContainerFactory<>(shareConsumerFactory);
            factory.setConcurrency(Integer.getInteger("peer.concurrency", 1));
            return factory;
        }

        @Bean
        Worker worker() {
            return new Worker();
        }
    }
}
