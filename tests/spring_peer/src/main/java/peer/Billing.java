package peer;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.springframework.context.annotation.AnnotationConfigApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.annotation.EnableKafka;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.kafka.config.ConcurrentKafkaListenerContainerFactory;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.listener.BatchListenerFailedException;
import org.springframework.kafka.listener.DeadLetterPublishingRecoverer;
import org.springframework.kafka.listener.DefaultErrorHandler;
import org.springframework.kafka.support.ProducerListener;
import org.springframework.kafka.support.SendResult;
import org.springframework.util.backoff.FixedBackOff;

/**
 * The Spring side of the lesson "Spring Kafka, mapped" (docs/lessons/spring.md): a containerFactory,
 * a batch @KafkaListener that names it, a KafkaTemplate. The page shows the part between the
 * lesson markers, as it is here (a unit test compares them).
 *
 * <pre>billing TOPIC GROUP COUNT   send one order; bill or dead-letter COUNT orders</pre>
 */
final class Billing {

    static CountDownLatch outcomes = new CountDownLatch(1);

    private Billing() {
    }

    /** The template the lesson's beans are given; it reports each dead letter it writes. */
    @Configuration
    static class Templates {

        @Bean
        KafkaTemplate<String, String> template() {
            var template = new KafkaTemplate<>(Clients.stringProducers(System.getProperty("peer.bootstrap")));
            template.setProducerListener(new ProducerListener<>() {
                @Override
                public void onSuccess(ProducerRecord<String, String> record, RecordMetadata metadata) {
                    if (record.topic().endsWith("-dlt")) {
                        done("dead_lettered", record.value());
                    }
                }
            });
            return template;
        }
    }

    // lesson: begin
    @Configuration
    @EnableKafka
    static class BillingConfig {

        @Bean // the listeners that name "batchFactory" consume as it says
        ConcurrentKafkaListenerContainerFactory<String, String> batchFactory(
                KafkaTemplate<String, String> template) {
            var factory = new ConcurrentKafkaListenerContainerFactory<String, String>();
            factory.setConsumerFactory(Clients.stringConsumers(
                    System.getProperty("peer.bootstrap"), System.getProperty("peer.group")));
            factory.setBatchListener(true);
            factory.setConcurrency(2);
            factory.setCommonErrorHandler(new DefaultErrorHandler(
                    new DeadLetterPublishingRecoverer(template), new FixedBackOff(0L, 2L)));
            return factory;
        }

        @Bean
        Biller biller() {
            return new Biller();
        }
    }

    public static class Biller {

        @KafkaListener(topics = "${peer.topic}", groupId = "${peer.group}",
                containerFactory = "batchFactory")
        public void bill(List<String> orders) {
            for (int i = 0; i < orders.size(); i++) {
                if (!orders.get(i).matches("\\w+:\\d+")) { // not "item:amount": dead-letter it
                    throw new BatchListenerFailedException("not item:amount", i);
                }
                done("billed", orders.get(i));
            }
        }
    }

    static void send(KafkaTemplate<String, String> template, String topic) throws Exception {
        SendResult<String, String> sent = template.send(topic, "java", "book:12").get();
        sent(sent.getRecordMetadata().partition(), sent.getRecordMetadata().offset());
    }
    // lesson: end

    static void done(String what, String order) {
        ObjectNode line = Main.JSON.createObjectNode();
        line.put(what, order);
        line.put("thread", Thread.currentThread().getName());
        Main.print(line);
        outcomes.countDown();
    }

    static void sent(int partition, long offset) {
        ObjectNode line = Main.JSON.createObjectNode();
        line.put("sent_partition", partition);
        line.put("sent_offset", offset);
        Main.print(line);
    }

    @SuppressWarnings("unchecked")
    static void run(String bootstrap, String topic, String group, int count) throws Exception {
        Main.peerProperties(bootstrap, topic, group);
        outcomes = new CountDownLatch(count);
        try (var context = new AnnotationConfigApplicationContext(Templates.class, BillingConfig.class)) {
            send(context.getBean(KafkaTemplate.class), topic);
            Main.await(outcomes, count + " orders billed or dead-lettered");
        }
    }
}
