"""moto's server with orgiam's additions, on 127.0.0.1.

``EmulatorServer`` runs it on a thread of the calling process (tests, ``python -m emulator serve``).
moto keeps its state in module globals, so all servers of one process share one AWS: run one per
process.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from emulator.middleware import EmulatorState, OrgiamMiddleware, WsgiApp
from emulator.settings import HOST, default_port

_install_lock = threading.Lock()
_installed = False


def install_extensions() -> None:
    """Load moto and put orgiam's changes in place, once per process. Each extension is a module of this
    package with an idempotent ``install()``; to add one, add it to the list."""
    global _installed
    with _install_lock:
        if _installed:
            return
        from emulator import (cfn_cicd, cfn_iam, cfn_organizations, cfn_secrets, cfn_sso, cfn_stacks, delegated_admin,
                             iam_backend, s3_policy, scaling, stacksets)

        extensions = [
            scaling,  # lookups that do not grow with the number of accounts (first: others wrap what it replaces)
            iam_backend,  # AWS managed policies built on first use
            cfn_iam,  # CloudFormation IAM types that really change IAM (Role, Group, User, SAMLProvider, ...)
            cfn_secrets,  # AWS::SecretsManager::Secret
            cfn_stacks,  # stack states, rollbacks, termination protection, template limits, dynamic references
            stacksets,  # service-managed StackSets: nested OUs, updates reach instances, auto-deployment, trusted access
            delegated_admin,  # who may read the organization (delegated administrators, its resource policy); StackSets' CallAs
            s3_policy,  # bucket policies: conditions evaluated, a Deny over HTTP no longer refuses everything
            cfn_cicd,  # the pipeline's CloudFormation types (cicd/): KMS key, bucket settings, CodeBuild, CodePipeline, event bus
            cfn_organizations,  # organization policies with AWS's rules (types enabled, sizes, limits); AWS::Organizations::Policy
            cfn_sso,  # Identity Center (sso-admin, identitystore) with roles in member accounts; AWS::SSO::PermissionSet, Assignment
        ]
        for extension in extensions:
            extension.install()
        cfn_iam.clear_model_caches()  # moto's type -> model map, rebuilt with every model defined above
        _installed = True


def build_app(state: EmulatorState) -> WsgiApp:
    """moto's WSGI application behind orgiam's middleware."""
    install_extensions()
    from moto.moto_server.werkzeug_app import create_backend_app

    return OrgiamMiddleware(_caching_dispatcher()(create_backend_app), state)


def _caching_dispatcher() -> type[Any]:
    """moto's dispatcher, remembering which backend serves a host name: moto lists and stats its own
    package directory twice on every request to find out."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    class CachingDispatcher(DomainDispatcherApplication):
        max_hosts = 1024

        def get_backend_for_host(self, host: str | None) -> Any:
            if host is None:
                return None
            cache: dict[str, Any] = self.__dict__.setdefault("_backend_by_host", {})
            if host not in cache:
                if len(cache) >= self.max_hosts:
                    cache.clear()
                cache[host] = super().get_backend_for_host(host)
            return cache[host]

    return CachingDispatcher


def _request_handler(log_requests: bool) -> type[WSGIRequestHandler]:
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    if log_requests:
        return MotoRequestHandler

    class QuietRequestHandler(MotoRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            pass

    return QuietRequestHandler


def _listening_socket(host: str, port: int) -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(128)
    except OSError:
        listener.close()
        raise
    return listener


class EmulatorServer:
    """The emulator on a background thread. ``port=0`` picks a free port; ``None`` means the default."""

    def __init__(self, port: int | None = 0, host: str = HOST, log_requests: bool = False) -> None:
        self._requested_port = default_port() if port is None else port
        self._host = host
        self._log_requests = log_requests
        self.state = EmulatorState()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> EmulatorServer:
        """Listen, serve on a daemon thread, and return once the socket accepts connections."""
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        app = build_app(self.state)
        # bound and listening before start returns: connections queue until serve_forever takes them.
        # The socket is ours, so that a port in use raises OSError (werkzeug would exit the process).
        with _listening_socket(self._host, self._requested_port) as listener:
            self._server = make_server(self._host, listener.getsockname()[1], app, threaded=True,
                                       request_handler=_request_handler(self._log_requests), fd=listener.fileno())
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="orgiam-emulator", daemon=True)
        self._thread.start()
        return self

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not running")
        return int(self._server.server_address[1])

    @property
    def endpoint_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = None
        self._thread = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
