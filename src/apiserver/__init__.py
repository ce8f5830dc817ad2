"""borgkit apiserver: the Kubernetes REST API over an :class:`objects.Registry`.

kubectl, the ``kubernetes`` Python client and kopf work against it unchanged::

    import apiserver, kvstore, objects
    registry = objects.Registry(kvstore.open())
    with apiserver.serve(registry) as server:   # http://127.0.0.1:<port>
        ...

See docs/apiserver.md for what is served and how it differs from kube-apiserver.
"""
from .errors import APIError
from .server import Server, serve

__all__ = ["serve", "Server", "APIError"]
