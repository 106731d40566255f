# One image for both services; docker-compose.yml picks the app with `command`.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY producer_service ./producer_service
COPY consumer_service ./consumer_service
RUN pip install --no-cache-dir .
EXPOSE 8000 8001
CMD ["uvicorn", "producer_service.main:app", "--host", "0.0.0.0", "--port", "8000"]
