"""What local-only mode refuses, as a sentence naming the host and what asked.

    AppError (openchat_desktop.errors)
    ├── Conflict (openchat_desktop.errors)
    │   └── LocalOnlyRefused      409 local_only: a download or tool server at another host
    └── ProviderError (providers.errors)
        └── ProviderLocalOnly     409 provider_local_only: a provider at another host

A provider's refusal is a ProviderError so that it is shown like any other failure of a model
(on the reply, in the model statuses) and, not being retryable, is never sent again.
"""

from __future__ import annotations

from ..errors import Conflict
from ..providers.errors import ProviderError


class LocalOnlyRefused(Conflict):
    code = "local_only"


class ProviderLocalOnly(ProviderError):
    code = "provider_local_only"
    status = 409
