"""``uvicorn producer_service.main:app``: the app with settings from the environment."""

import logging

from producer_service.app import create_app

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

app = create_app()
