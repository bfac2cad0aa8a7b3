"""Open311 GeoReport v2: routes (routes.py), its words (labels.py), JSON and XML (wire.py), the
OpenAPI description (schema.py), the POST form (forms.py) and a request as shown (requests.py)."""

from gateway.open311.routes import router
from gateway.open311.wire import error_answer

__all__ = ["error_answer", "router"]
