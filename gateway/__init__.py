"""The HTTP gateway: the /v1 API, Open311 GeoReport v2, identities and the codec endpoint."""

from gateway.app import create_app

__all__ = ["create_app"]
