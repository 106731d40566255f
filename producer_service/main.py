"""``uvicorn producer_service.main:app``: the app with settings from the environment."""

import logging

from kafka_kit._internal.client_logs import condense_client_logs
from kafka_kit.settings import exit_if_invalid
from producer_service.app import SETTINGS, create_app

# A bad variable ends the start here, one line each, exit status 2: not a traceback at import.
exit_if_invalid(*SETTINGS)
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
condense_client_logs()  # a broker away: one line per minute and kind, not forty a second

app = create_app()
