"""Deprecated (0.6): the event contract moved to :mod:`event_contract.events`; this alias
goes in 0.7."""

import warnings

from event_contract.events import *  # noqa: F403 - the old module's names, unchanged
from event_contract.events import __all__  # noqa: F401 - what `import *` gives

warnings.warn(
    "import the event contract from event_contract.events; producer_service.events goes in 0.7",
    DeprecationWarning,
    stacklevel=2,
)
