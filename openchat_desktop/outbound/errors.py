"""What local-only mode refuses, as a sentence naming the host and what asked.

    AppError (openchat_desktop.errors)
    ├── Conflict (openchat_desktop.errors)
    │   └── LocalOnlyRefused      409 local_only: a download or tool server at another host
    └── ProviderError (providers.errors)
        └── ProviderUnavailable (providers.errors)
            └── ProviderLocalOnly 409 provider_local_only: a provider at another host

A provider's refusal is shown like a server that cannot be reached (on the reply, in the model
statuses: a provider lists the models its settings name and says why it has no others), but
it is not retryable: sending again is refused again.
"""

from __future__ import annotations

from ..errors import Conflict
from ..providers.errors import ProviderUnavailable


class LocalOnlyRefused(Conflict):
    code = "local_only"


class ProviderLocalOnly(ProviderUnavailable):
    code = "provider_local_only"
    status = 409
    retryable = False
