"""The producer's HTTP routes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query, status
from fastapi.responses import JSONResponse, Response

from event_contract.events import EventDto
from kafka_kit import KafkaSendError, KafkaTemplate, metrics
from kafka_kit.errors import TopicNotAllowedError
from kafka_kit.outbox import Outbox
from kafka_kit.topic_names import TOPIC_NAME_PATTERN
from kafka_kit.web.limits import require_json
from kafka_kit.web.send_failures import answer_for_send_failure
from kafka_kit.web.service import ServiceSettings
from kafka_kit.web.strict_json import StrictJsonRoute, strict_loads
from producer_service.schemas import (
    BatchItemResult,
    BatchResult,
    ErrorBody,
    EventAccepted,
    OutboxStatus,
)
from producer_service.settings import ProducerApiSettings
from producer_service.state import ProducerState, State

write_router = APIRouter(route_class=StrictJsonRoute, tags=["events"])
"""Routes that write to Kafka (the admin token's, when tokens are configured)."""
read_router = APIRouter(route_class=StrictJsonRoute, tags=["health"])


async def get_template(state: State) -> KafkaTemplate:
    """The application's template (started in the lifespan)."""
    return state.template


async def get_api_settings(state: State) -> ProducerApiSettings:
    """The service's HTTP limits."""
    return state.api


async def get_outbox(state: State) -> Outbox | None:
    """The outbox and its relay in outbox mode; ``None`` in direct mode."""
    return state.outbox


async def target_topic(
    state: State,
    topic: Annotated[
        str | None,
        Query(
            description="Write here instead of the events topic (`PRODUCER_ALLOWED_TOPICS`).",
            examples=["audit"],
            pattern=TOPIC_NAME_PATTERN,
        ),
    ] = None,
) -> str:
    """The topic of this request: the events topic, or an allowed ``?topic=``."""
    try:
        return state.topic_policy.resolve(topic)
    except TopicNotAllowedError as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=str(exc)) from exc


async def get_service(state: State) -> ServiceSettings:
    """What identifies this service process."""
    return state.service


Template = Annotated[KafkaTemplate, Depends(get_template)]
Service = Annotated[ServiceSettings, Depends(get_service)]
ApiSettings = Annotated[ProducerApiSettings, Depends(get_api_settings)]
Topic = Annotated[str, Depends(target_topic)]
OutboxDep = Annotated[Outbox | None, Depends(get_outbox)]


def _error(description: str, example: str) -> dict[str, Any]:
    return {
        "description": description,
        "model": ErrorBody,
        "content": {"application/json": {"example": {"detail": example}}},
    }


WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    403: _error(
        "The topic is internal or not allowed.", "topic '__consumer_offsets' is not allowed"
    ),
    413: _error("Body or batch too large.", "request body larger than 1048576 bytes"),
    415: _error("Not JSON.", "content type 'text/plain' is not supported: send application/json"),
    504: {
        "description": "The outcome is unknown: the event may have been written. Retry with "
        "the same `id` after `Retry-After` seconds; the consumer stores each id once.",
        "content": {
            "application/json": {
                "example": {
                    "detail": "the write's outcome is unknown: … retry with the same event id",
                    "id": "bcf0d9bf-6341-4420-9c59-17a02d8101bc",
                }
            }
        },
    },
    503: _error(
        "Kafka did not take the event (it was not written); retry after `Retry-After` seconds.",
        "Kafka did not acknowledge the event: no acknowledgement within the delivery timeout",
    ),
}

EVENT_EXAMPLES = {
    "keyed": {
        "summary": "An event with a key (same key, same partition, in order)",
        "value": {
            "type": "order.created",
            "source": "checkout",
            "key": "customer-42",
            "payload": {"order_id": 1001, "total": "59.90"},
        },
    },
    "keyless": {
        "summary": "No key: spread over partitions in sticky batches",
        "value": {"type": "page.viewed", "source": "web", "payload": {"path": "/"}},
    },
    "high-priority": {
        "summary": "High priority (reserved partitions with the PriorityPartitioner)",
        "value": {"type": "fraud.suspected", "source": "risk", "payload": {"priority": "high"}},
    },
}


@write_router.post(
    "/events",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=EventAccepted,
    responses=WRITE_ERRORS,
    dependencies=[Depends(require_json)],
    summary="Write one event",
)
async def post_event(
    event: Annotated[EventDto, Body(openapi_examples=EVENT_EXAMPLES)],
    template: Template,
    topic: Topic,
    outbox: OutboxDep,
    api: ApiSettings,
) -> EventAccepted:
    """Validate an event and write it to Kafka; answer with its partition and offset.

    The answer comes only after Kafka acknowledged the write (per `acks`) — or, in outbox
    mode, after the local outbox committed it (`"status": "queued"`).
    """
    if outbox is not None:
        await outbox.enqueue([template.build_record(topic, event, key=event.key)])
        return EventAccepted(id=event.id, status="queued", topic=topic, partition=None, offset=None)
    return await send_event(event, template, topic, api)  # type: ignore[return-value]


async def send_event(
    event: EventDto, template: KafkaTemplate, topic: str, api: ProducerApiSettings
) -> EventAccepted | JSONResponse:
    """Write ``event``: where Kafka stored it, or the answer for a failed send."""
    try:
        sent = await template.send(topic, event, key=event.key)
    except KafkaSendError as exc:
        # Said with the event's id: a client retries with it, so nothing is stored twice.
        answer = answer_for_send_failure(exc, api.retry_after_s)
        return JSONResponse(
            {"detail": answer.detail, "id": str(event.id)},
            status_code=answer.status_code,
            headers=answer.headers,
        )
    return EventAccepted(
        id=event.id, topic=sent.topic, partition=sent.partition, offset=sent.offset
    )


def fast_post_event(state: ProducerState) -> Callable[[bytes], Awaitable[Response | None]]:
    """``POST /events`` without query parameters, in direct mode, for a valid event: the same
    checks and answers as :func:`post_event`, without FastAPI's per-request machinery
    (:class:`~kafka_kit.web.fast_post.FastJsonPost`). Anything else it leaves to the route."""

    async def handle(body: bytes) -> Response | None:
        if state.outbox is not None:
            return None
        try:
            event = EventDto.model_validate(strict_loads(body))
        except ValueError:  # JSONDecodeError and ValidationError: the route's 422 says why
            return None
        answer = await send_event(
            event, state.template, state.topic_policy.default_topic, state.api
        )
        if isinstance(answer, Response):
            return answer
        return Response(
            answer.model_dump_json(), status.HTTP_202_ACCEPTED, media_type="application/json"
        )

    return handle


@write_router.post(
    "/events/batch",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=BatchResult,
    responses={
        **WRITE_ERRORS,
        207: {
            "description": "Some events were accepted, some failed (see each result).",
            "model": BatchResult,
        },
    },
    dependencies=[Depends(require_json)],
    summary="Write a list of events",
)
async def post_batch(
    events: Annotated[
        list[EventDto],
        Body(
            openapi_examples={
                "two": {
                    "summary": "Two events",
                    "value": [
                        {"type": "cart.updated", "source": "web", "key": "cart-7"},
                        {"type": "cart.checked_out", "source": "web", "key": "cart-7"},
                    ],
                }
            }
        ),
    ],
    template: Template,
    topic: Topic,
    api: ApiSettings,
    outbox: OutboxDep,
) -> JSONResponse:
    """Write every event concurrently; answer per event, in request order.

    202 when all were acknowledged; 503 (+ `Retry-After`) when none was written because Kafka
    is away; 504 when none was acknowledged and some may have been written (retry them with
    their ids); 207 otherwise, with each event's own `code`.
    """
    if len(events) > api.max_batch_events:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            detail=f"{len(events)} events in one batch; at most {api.max_batch_events}",
        )
    records = [(template.build_record(topic, event, key=event.key), event) for event in events]
    if outbox is not None:
        await outbox.enqueue([record for record, _ in records])
        queued = [
            BatchItemResult(index=i, id=e.id, status="queued", code=202, topic=topic)
            for i, e in enumerate(events)
        ]
        body = BatchResult.of(queued)
        return JSONResponse(body.model_dump(mode="json"), status_code=status.HTTP_202_ACCEPTED)
    outcomes = await template.send_records(records)
    results = []
    headers: dict[str, str] = {}
    for index, (event, outcome) in enumerate(zip(events, outcomes, strict=True)):
        if isinstance(outcome, KafkaSendError):
            answer = answer_for_send_failure(outcome, api.retry_after_s)
            headers.update(answer.headers)
            results.append(
                BatchItemResult(
                    index=index,
                    id=event.id,
                    status="failed",
                    code=answer.status_code,
                    topic=topic,
                    error=answer.detail,
                )
            )
        else:
            results.append(
                BatchItemResult(
                    index=index,
                    id=event.id,
                    status="sent",
                    code=status.HTTP_202_ACCEPTED,
                    topic=outcome.topic,
                    partition=outcome.partition,
                    offset=outcome.offset,
                )
            )
    body = BatchResult.of(results)
    if body.failed == 0:
        code = status.HTTP_202_ACCEPTED
    elif body.failed == len(results) and all(r.code in (503, 504) for r in results):
        # None written for sure: 503; some may have been: 504 (retry those with their ids).
        code = 504 if any(r.code == 504 for r in results) else status.HTTP_503_SERVICE_UNAVAILABLE
    else:
        code = status.HTTP_207_MULTI_STATUS
    return JSONResponse(body.model_dump(mode="json"), status_code=code, headers=headers)


@read_router.get(
    "/outbox", tags=["outbox"], responses={404: _error("Direct mode.", "outbox mode is off")}
)
async def outbox_status(outbox: OutboxDep) -> OutboxStatus:
    """Pending and delivered counts, and the age of the oldest pending event."""
    if outbox is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="outbox mode is off")
    stats = await outbox.store.stats()
    return OutboxStatus(
        pending=stats.pending,
        delivered=stats.delivered,
        oldest_pending_age_s=stats.oldest_pending_age_s,
    )


@read_router.get("/metrics", tags=["metrics"], response_class=Response)
async def prometheus(state: State) -> Response:
    """Prometheus text format: sends per topic and result, send latency."""
    body, content_type = metrics.render(state.metrics_registry)
    return Response(body, media_type=content_type)


@read_router.get(
    "/health",
    responses={503: _error("No broker answered.", "Kafka is not reachable: TimeoutError")},
)
async def health(template: Template, outbox: OutboxDep, service: Service) -> JSONResponse:
    """``UP`` only when a Kafka broker answers a metadata request right now.

    In outbox mode writes are accepted while Kafka is away: ``UP``, with ``"kafka": "DOWN"``.
    With ``SERVICE_INSTANCE_ID`` set, the answer names it as ``instance``.
    """
    try:
        await template.check_connection()
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        reason = f"Kafka is not reachable: {type(exc).__name__}"
        if outbox is not None:
            return JSONResponse(service.health("UP", kafka="DOWN", detail=reason))
        return JSONResponse(service.health("DOWN", detail=reason), status_code=503)
    return JSONResponse(service.health("UP"))
