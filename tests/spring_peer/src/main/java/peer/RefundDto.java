package peer;

import com.fasterxml.jackson.annotation.JsonProperty;

/** A second event type sharing the topic: told apart by the __TypeId__ header. */
public record RefundDto(@JsonProperty("order_id") long orderId, String amount) {
}
