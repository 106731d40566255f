"""``uvicorn producer_service.main:app``: the app with settings from the environment."""

from kafka_kit.web.service import service_main
from producer_service.app import SETTINGS, create_app

app = service_main(SETTINGS, create_app)
