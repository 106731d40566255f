package peer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.springframework.context.annotation.AnnotationConfigApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.annotation.EnableKafka;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.kafka.config.ConcurrentKafkaListenerContainerFactory;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.listener.ContainerProperties;
import org.springframework.kafka.listener.DeadLetterPublishingRecoverer;
import org.springframework.kafka.listener.DefaultErrorHandler;
import org.springframework.kafka.listener.KafkaMessageListenerContainer;
import org.springframework.kafka.listener.MessageListener;
import org.springframework.kafka.requestreply.ReplyingKafkaTemplate;
import org.springframework.kafka.requestreply.RequestReplyFuture;
import org.springframework.kafka.support.KafkaHeaders;
import org.springframework.kafka.support.SendResult;
import org.springframework.messaging.handler.annotation.SendTo;
import org.springframework.util.backoff.FixedBackOff;

/**
 * A Spring Kafka service in miniature, one command per run; each prints one JSON line per record.
 *
 * <pre>
 * listen TOPIC GROUP COUNT      @KafkaListener, JsonDeserializer typed by __TypeId__ alone
 * send TOPIC                    KafkaTemplate + JsonSerializer; stdin: {"type","key","value"}
 * fail TOPIC GROUP COUNT [RETRIES]  a listener that always throws; FixedBackOff(0, RETRIES)
 *                               (default 0), then Spring's DLPR dead-letters
 * read-retry TOPIC COUNT        decode retry-topic headers as Spring's retry topics do
 * read-dlt TOPIC COUNT [replay] decode dead-letter headers as Spring code does; replay them
 * partition TOPIC               the default partitioner's choice per key (stdin, one a line)
 * read-committed TOPIC          read_committed: the values a Java consumer sees
 * reply TOPIC GROUP COUNT       @KafkaListener + @SendTo (no value: the request's reply topic)
 * request TOPIC REPLY_TOPIC     ReplyingKafkaTemplate; stdin: one request value a line
 * billing TOPIC GROUP COUNT     the Spring lesson's batch containerFactory (see Billing)
 * </pre>
 */
public final class Main {

    static final ObjectMapper JSON = new ObjectMapper().findAndRegisterModules();
    static final Duration TIMEOUT = Duration.ofSeconds(90);

    private Main() {
    }

    public static void main(String[] args) throws Exception {
        String bootstrap = System.getenv().getOrDefault("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092");
        String command = args[0];
        switch (command) {
            case "listen" -> listen(bootstrap, args[1], args[2], Integer.parseInt(args[3]));
            case "send" -> send(bootstrap, args[1]);
            case "fail" -> fail(bootstrap, args[1], args[2], Integer.parseInt(args[3]),
                    args.length > 4 ? Long.parseLong(args[4]) : 0L);
            case "read-retry" -> readRetries(bootstrap, args[1], Integer.parseInt(args[2]));
            case "read-dlt" -> readDeadLetters(bootstrap, args[1], Integer.parseInt(args[2]),
                    args.length > 3 && args[3].equals("replay"));
            case "partition" -> partition(bootstrap, args[1]);
            case "read-committed" -> readCommitted(bootstrap, args[1]);
            case "reply" -> reply(bootstrap, args[1], args[2], Integer.parseInt(args[3]));
            case "request" -> request(bootstrap, args[1], args[2]);
            case "billing" -> Billing.run(bootstrap, args[1], args[2], Integer.parseInt(args[3]));
            case "traced-listen" -> Traced.listen(bootstrap, args[1], args[2], Integer.parseInt(args[3]));
            case "traced-send" -> Traced.send(bootstrap, args[1]);
            default -> throw new IllegalArgumentException("unknown command " + command);
        }
        System.exit(0);
    }

    static synchronized void print(Object line) {
        try {
            System.out.println(JSON.writeValueAsString(line));
            System.out.flush();
        }
        catch (Exception ex) {
            throw new IllegalStateException(ex);
        }
    }

    static void await(CountDownLatch latch, String what) throws InterruptedException {
        if (!latch.await(TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
            System.err.println("timed out waiting for " + what + "; " + latch.getCount() + " left");
            System.exit(1);
        }
    }

    // ------------------------------------------------------------------ listen
    static CountDownLatch received = new CountDownLatch(1);

    /** A @KafkaListener whose value type comes from the __TypeId__ header the producer wrote. */
    public static class TypedListener {

        @KafkaListener(topics = "${peer.topic}", groupId = "${peer.group}")
        public void on(ConsumerRecord<String, Object> record) {
            ObjectNode line = JSON.createObjectNode();
            line.put("partition", record.partition());
            line.put("offset", record.offset());
            line.put("key", record.key());
            Header typeId = record.headers().lastHeader("__TypeId__");
            line.put("type_id", typeId == null ? null : new String(typeId.value(), StandardCharsets.UTF_8));
            line.put("class", record.value() == null ? null : record.value().getClass().getName());
            line.set("value", JSON.valueToTree(record.value()));
            if (record.value() instanceof EventDto event) {
                line.put("occurred_at_utc", event.occurredAt().toInstant().toString());
                line.put("occurred_at_offset", event.occurredAt().getOffset().toString());
            }
            print(line);
            received.countDown();
        }
    }

    @Configuration
    @EnableKafka
    static class ListenConfig {

        @Bean
        ConcurrentKafkaListenerContainerFactory<String, Object> kafkaListenerContainerFactory() {
            var factory = new ConcurrentKafkaListenerContainerFactory<String, Object>();
            factory.setConsumerFactory(Clients.jsonConsumers(
                    System.getProperty("peer.bootstrap"), System.getProperty("peer.group")));
            return factory;
        }

        @Bean
        TypedListener typedListener() {
            return new TypedListener();
        }
    }

    /** What the @KafkaListener configurations read: ${peer.topic}, ${peer.group}, … */
    static void peerProperties(String bootstrap, String topic, String group) {
        System.setProperty("peer.bootstrap", bootstrap);
        System.setProperty("peer.topic", topic);
        System.setProperty("peer.group", group);
    }

    static void listen(String bootstrap, String topic, String group, int count) throws Exception {
        peerProperties(bootstrap, topic, group);
        received = new CountDownLatch(count);
        try (var context = new AnnotationConfigApplicationContext(ListenConfig.class)) {
            await(received, count + " records");
        }
    }

    // ------------------------------------------------------------------ reply
    static CountDownLatch replied = new CountDownLatch(1);

    static String hex(Header header) {
        if (header == null) {
            return null;
        }
        StringBuilder text = new StringBuilder();
        for (byte b : header.value()) {
            text.append(String.format("%02x", b));
        }
        return text.toString();
    }

    /** Answers each request on the topic its kafka_replyTopic header names, as Spring does. */
    public static class Replier {

        @KafkaListener(topics = "${peer.topic}", groupId = "${peer.group}")
        @SendTo
        public String on(ConsumerRecord<String, String> record) {
            ObjectNode line = JSON.createObjectNode();
            line.put("request", record.value());
            line.put("correlation", hex(record.headers().lastHeader(KafkaHeaders.CORRELATION_ID)));
            Header replyTopic = record.headers().lastHeader(KafkaHeaders.REPLY_TOPIC);
            line.put("reply_topic", replyTopic == null ? null : new String(replyTopic.value(), StandardCharsets.UTF_8));
            print(line);
            replied.countDown();
            return "spring: " + record.value();
        }
    }

    @Configuration
    @EnableKafka
    static class ReplyConfig {

        @Bean
        ConcurrentKafkaListenerContainerFactory<String, String> kafkaListenerContainerFactory() {
            var factory = new ConcurrentKafkaListenerContainerFactory<String, String>();
            String bootstrap = System.getProperty("peer.bootstrap");
            factory.setConsumerFactory(Clients.stringConsumers(bootstrap, System.getProperty("peer.group")));
            factory.setReplyTemplate(new KafkaTemplate<>(Clients.stringProducers(bootstrap)));
            return factory;
        }

        @Bean
        Replier replier() {
            return new Replier();
        }
    }

    static void reply(String bootstrap, String topic, String group, int count) throws Exception {
        peerProperties(bootstrap, topic, group);
        replied = new CountDownLatch(count);
        // Closing the context stops the container, which lets the listener send its last reply.
        try (var context = new AnnotationConfigApplicationContext(ReplyConfig.class)) {
            await(replied, count + " requests");
        }
    }

    // ------------------------------------------------------------------ request
    static void request(String bootstrap, String topic, String replyTopic) throws Exception {
        String group = "spring-replies-" + System.nanoTime();
        var properties = new ContainerProperties(replyTopic);
        properties.setGroupId(group);
        var container = new KafkaMessageListenerContainer<>(Clients.stringConsumers(bootstrap, group), properties);
        var template = new ReplyingKafkaTemplate<>(Clients.stringProducers(bootstrap), container);
        template.setDefaultReplyTimeout(TIMEOUT);
        template.start();
        if (!template.waitForAssignment(TIMEOUT)) {
            System.err.println("the reply container was never assigned " + replyTopic);
            System.exit(1);
        }
        var input = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String text;
        while ((text = input.readLine()) != null) {
            if (text.isBlank()) {
                continue;
            }
            RequestReplyFuture<String, String, String> future =
                    template.sendAndReceive(new ProducerRecord<>(topic, text, text));
            ConsumerRecord<String, String> answer = future.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            ObjectNode line = JSON.createObjectNode();
            line.put("request", text);
            line.put("reply", answer.value());
            line.put("key", answer.key());
            line.put("correlation", hex(answer.headers().lastHeader(KafkaHeaders.CORRELATION_ID)));
            print(line);
        }
        template.stop();
        template.destroy();
    }

    // ------------------------------------------------------------------ send
    static void send(String bootstrap, String topic) throws Exception {
        KafkaTemplate<String, Object> template = Clients.jsonTemplate(bootstrap);
        var input = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String text;
        while ((text = input.readLine()) != null) {
            if (text.isBlank()) {
                continue;
            }
            JsonNode line = JSON.readTree(text);
            Class<?> type = line.get("type").asText().equals("refund") ? RefundDto.class : EventDto.class;
            Object value = JSON.treeToValue(line.get("value"), type);
            String key = line.hasNonNull("key") ? line.get("key").asText() : null;
            SendResult<String, Object> sent = template.send(topic, key, value).get(30, TimeUnit.SECONDS);
            print(Map.of("partition", sent.getRecordMetadata().partition(),
                    "offset", sent.getRecordMetadata().offset()));
        }
        template.destroy();
    }

    // ------------------------------------------------------------------ fail
    static void fail(String bootstrap, String topic, String group, int count, long retries)
            throws Exception {
        KafkaTemplate<byte[], byte[]> template = Clients.bytesTemplate(bootstrap);
        CountDownLatch recovered = new CountDownLatch(count);
        var recoverer = new DeadLetterPublishingRecoverer(template) {
            @Override
            public void accept(ConsumerRecord<?, ?> record, org.apache.kafka.clients.consumer.Consumer<?, ?> consumer,
                    Exception exception) {
                super.accept(record, consumer, exception);
                print(Map.of("dead_lettered", record.offset(), "partition", record.partition()));
                recovered.countDown();
            }
        };
        var properties = new ContainerProperties(topic);
        properties.setGroupId(group);
        properties.setMessageListener((MessageListener<byte[], byte[]>) record -> {
            print(Map.of("delivery", record.offset(), "partition", record.partition()));
            throw new IllegalStateException("spring refuses offset " + record.offset());
        });
        var container = new KafkaMessageListenerContainer<>(Clients.bytesConsumers(bootstrap, group), properties);
        container.setCommonErrorHandler(new DefaultErrorHandler(recoverer, new FixedBackOff(0L, retries)));
        container.start();
        try {
            await(recovered, count + " dead letters");
        }
        finally {
            container.stop();
            template.destroy();
        }
    }

    // ------------------------------------------------------------------ read-dlt
    /** Reads dead-letter headers the way Spring code does: ByteBuffer for the numbers. */
    static void readDeadLetters(String bootstrap, String topic, int count, boolean replay) throws Exception {
        KafkaTemplate<byte[], byte[]> template = Clients.bytesTemplate(bootstrap);
        readAll(bootstrap, topic, count, record -> {
            ObjectNode line = JSON.createObjectNode();
            line.put("partition", record.partition());
            line.put("offset", record.offset());
            String originalTopic = text(record, KafkaHeaders.DLT_ORIGINAL_TOPIC);
            int originalPartition = ByteBuffer.wrap(bytes(record, KafkaHeaders.DLT_ORIGINAL_PARTITION)).getInt();
            line.put("original_topic", originalTopic);
            line.put("original_partition", originalPartition);
            line.put("original_offset", ByteBuffer.wrap(bytes(record, KafkaHeaders.DLT_ORIGINAL_OFFSET)).getLong());
            line.put("original_timestamp",
                    ByteBuffer.wrap(bytes(record, KafkaHeaders.DLT_ORIGINAL_TIMESTAMP)).getLong());
            line.put("original_timestamp_type", text(record, KafkaHeaders.DLT_ORIGINAL_TIMESTAMP_TYPE));
            line.put("original_consumer_group", text(record, KafkaHeaders.DLT_ORIGINAL_CONSUMER_GROUP));
            line.put("exception_fqcn", text(record, KafkaHeaders.DLT_EXCEPTION_FQCN));
            line.put("exception_cause_fqcn", text(record, KafkaHeaders.DLT_EXCEPTION_CAUSE_FQCN));
            line.put("exception_message", text(record, KafkaHeaders.DLT_EXCEPTION_MESSAGE));
            line.put("value", record.value() == null ? null : new String(record.value(), StandardCharsets.UTF_8));
            if (replay) {
                try {
                    var sent = template.send(new ProducerRecord<>(originalTopic, originalPartition,
                            record.key(), record.value())).get(30, TimeUnit.SECONDS);
                    line.put("replayed_partition", sent.getRecordMetadata().partition());
                    line.put("replayed_offset", sent.getRecordMetadata().offset());
                }
                catch (Exception ex) {
                    throw new IllegalStateException(ex);
                }
            }
            print(line);
        });
        template.destroy();
    }

    /** Retry-topic headers read as Spring's DeadLetterPublishingRecovererFactory reads them. */
    static void readRetries(String bootstrap, String topic, int count) throws Exception {
        readAll(bootstrap, topic, count, record -> {
            ObjectNode line = JSON.createObjectNode();
            line.put("partition", record.partition());
            line.put("attempts", ByteBuffer.wrap(bytes(record, "retry_topic-attempts")).getInt());
            line.put("backoff_timestamp",
                    new java.math.BigInteger(bytes(record, "retry_topic-backoff-timestamp")).longValue());
            line.put("original_timestamp",
                    new java.math.BigInteger(bytes(record, "retry_topic-original-timestamp")).longValue());
            line.put("original_topic", text(record, KafkaHeaders.DLT_ORIGINAL_TOPIC));
            line.put("original_partition",
                    ByteBuffer.wrap(bytes(record, KafkaHeaders.DLT_ORIGINAL_PARTITION)).getInt());
            line.put("original_offset", ByteBuffer.wrap(bytes(record, KafkaHeaders.DLT_ORIGINAL_OFFSET)).getLong());
            line.put("record_timestamp", record.timestamp());
            print(line);
        });
    }

    static byte[] bytes(ConsumerRecord<byte[], byte[]> record, String name) {
        Header header = record.headers().lastHeader(name);
        return header == null ? null : header.value();
    }

    static String text(ConsumerRecord<byte[], byte[]> record, String name) {
        byte[] value = bytes(record, name);
        return value == null ? null : new String(value, StandardCharsets.UTF_8);
    }

    /** Every record of the topic from the beginning, without a group, until {@code count} seen. */
    static void readAll(String bootstrap, String topic, int count,
            Consumer<ConsumerRecord<byte[], byte[]>> each) throws Exception {
        var props = Clients.consumerProps(bootstrap, null);
        props.remove(ConsumerConfig.GROUP_ID_CONFIG);
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        try (var consumer = new KafkaConsumer<byte[], byte[]>(props)) {
            List<TopicPartition> partitions = new ArrayList<>();
            consumer.partitionsFor(topic).forEach(p -> partitions.add(new TopicPartition(topic, p.partition())));
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            int seen = 0;
            while (seen < count) {
                if (System.nanoTime() > deadline) {
                    System.err.println("timed out: " + seen + " of " + count + " records");
                    System.exit(1);
                }
                for (var record : consumer.poll(Duration.ofMillis(500))) {
                    each.accept(record);
                    seen++;
                }
            }
        }
    }

    // ------------------------------------------------------------------ partition
    static void partition(String bootstrap, String topic) throws Exception {
        KafkaTemplate<String, Object> template = Clients.jsonTemplate(bootstrap);
        var input = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        List<java.util.concurrent.CompletableFuture<SendResult<String, Object>>> sent = new ArrayList<>();
        List<String> keys = new ArrayList<>();
        String key;
        while ((key = input.readLine()) != null) {
            keys.add(key);
            sent.add(template.send(topic, key, Map.of("k", key)));
        }
        for (int i = 0; i < keys.size(); i++) {
            print(Map.of("key", keys.get(i),
                    "partition", sent.get(i).get(30, TimeUnit.SECONDS).getRecordMetadata().partition()));
        }
        template.destroy();
    }

    // ------------------------------------------------------------------ read-committed
    static void readCommitted(String bootstrap, String topic) throws Exception {
        var props = Clients.consumerProps(bootstrap, null);
        props.remove(ConsumerConfig.GROUP_ID_CONFIG);
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        try (var consumer = new KafkaConsumer<String, String>(props)) {
            List<TopicPartition> partitions = new ArrayList<>();
            consumer.partitionsFor(topic).forEach(p -> partitions.add(new TopicPartition(topic, p.partition())));
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            // Under read_committed the end offsets are the last stable offsets.
            Map<TopicPartition, Long> ends = consumer.endOffsets(partitions);
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (partitions.stream().anyMatch(tp -> consumer.position(tp) < ends.get(tp))) {
                if (System.nanoTime() > deadline) {
                    System.err.println("timed out reading to the last stable offsets");
                    System.exit(1);
                }
                for (var record : consumer.poll(Duration.ofMillis(500))) {
                    print(Map.of("partition", record.partition(), "offset", record.offset(),
                            "value", record.value()));
                }
            }
        }
    }
}
