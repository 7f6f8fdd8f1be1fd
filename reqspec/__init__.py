"""reqspec: a versioned RequestSpec persisted in API and cell databases."""

import warnings

# oslo.versionedobjects imports oslo.messaging, which imports eventlet and
# makes it warn on import; reqspec never uses eventlet, and the warning
# would otherwise open every reqspec-manage run.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

__version__ = "0.1.0"
