"""A web console for a service built on the kit: cluster, groups and lag, listeners, dead letters.

Pages are server-rendered (Jinja2) and refresh themselves in place; the only script is
``static/console.js``, written here. Nothing is loaded from anywhere but the service itself.
"""

from kafka_kit.web.console.router import CONSOLE_ACCESS, install_console
from kafka_kit.web.console.settings import ConsoleSettings
from kafka_kit.web.console.sources import ConnectorsSource, ConsoleSources, StreamsSource

__all__ = [
    "CONSOLE_ACCESS",
    "ConnectorsSource",
    "ConsoleSettings",
    "ConsoleSources",
    "StreamsSource",
    "install_console",
]
