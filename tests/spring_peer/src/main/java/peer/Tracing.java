package peer;

import io.micrometer.observation.ObservationHandler;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.tracing.Tracer;
import io.micrometer.tracing.handler.DefaultTracingObservationHandler;
import io.micrometer.tracing.handler.PropagatingReceiverTracingObservationHandler;
import io.micrometer.tracing.handler.PropagatingSenderTracingObservationHandler;
import io.micrometer.tracing.otel.bridge.OtelBaggageManager;
import io.micrometer.tracing.otel.bridge.OtelCurrentTraceContext;
import io.micrometer.tracing.otel.bridge.OtelPropagator;
import io.micrometer.tracing.otel.bridge.OtelTracer;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Micrometer Observation bridged to OpenTelemetry, exported over OTLP/HTTP to
 * {@code OTEL_EXPORTER_OTLP_ENDPOINT}: what Spring Boot's tracing auto-configuration builds,
 * written out because the peer runs without Boot.
 */
final class Tracing {

    final SdkTracerProvider provider;
    final Tracer tracer;
    final ObservationRegistry registry;

    Tracing(String endpoint, String serviceName) {
        var exporter = OtlpHttpSpanExporter.builder().setEndpoint(endpoint + "/v1/traces").build();
        this.provider = SdkTracerProvider.builder()
                .setResource(Resource.getDefault().merge(Resource.create(
                        Attributes.of(AttributeKey.stringKey("service.name"), serviceName))))
                .addSpanProcessor(BatchSpanProcessor.builder(exporter)
                        .setScheduleDelay(Duration.ofMillis(200)).build())
                .build();
        var sdk = OpenTelemetrySdk.builder()
                .setTracerProvider(this.provider)
                .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance()))
                .build();
        var otelTracer = sdk.getTracer("spring-peer");
        var context = new OtelCurrentTraceContext();
        this.tracer = new OtelTracer(otelTracer, context, event -> { },
                new OtelBaggageManager(context, List.of(), List.of()));
        var propagator = new OtelPropagator(sdk.getPropagators(), otelTracer);
        this.registry = ObservationRegistry.create();
        this.registry.observationConfig().observationHandler(
                new ObservationHandler.FirstMatchingCompositeObservationHandler(
                        new PropagatingSenderTracingObservationHandler<>(this.tracer, propagator),
                        new PropagatingReceiverTracingObservationHandler<>(this.tracer, propagator),
                        new DefaultTracingObservationHandler(this.tracer)));
    }

    static Tracing fromEnvironment() {
        String endpoint = System.getenv("OTEL_EXPORTER_OTLP_ENDPOINT");
        if (endpoint == null) {
            throw new IllegalStateException("OTEL_EXPORTER_OTLP_ENDPOINT is not set");
        }
        return new Tracing(endpoint, "spring-peer");
    }

    /** Export what is left before the process ends. */
    void close() {
        this.provider.forceFlush().join(10, TimeUnit.SECONDS);
        this.provider.shutdown().join(10, TimeUnit.SECONDS);
    }
}
