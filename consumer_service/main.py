"""``uvicorn consumer_service.main:app``: the app with settings from the environment."""

from consumer_service.app import SETTINGS, create_app
from kafka_kit.web.service import service_main

app = service_main(SETTINGS, create_app)
