# One image for both services; docker-compose.yml picks the app with `command`.
FROM python:3.11-slim
WORKDIR /app
# The library (kafka_kit, from shared/) with the services' extras, at the pinned versions.
COPY pyproject.toml constraints.txt README.md ./
COPY shared ./shared
RUN pip install --no-cache-dir -c constraints.txt ".[services]"
# The services are not part of the library: they run from /app (python -m and uvicorn put the
# working directory on sys.path).
COPY event_contract ./event_contract
COPY producer_service ./producer_service
COPY consumer_service ./consumer_service
EXPOSE 8000 8001
CMD ["python", "-m", "producer_service", "--host", "0.0.0.0", "--port", "8000"]
