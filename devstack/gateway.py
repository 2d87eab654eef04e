"""A local API Gateway (REST API, Lambda proxy integration): each HTTP request becomes the event
API Gateway sends (devstack/apigw.py builds it), the authorizer runs first and its policy and
context are honoured as API Gateway honours them, then the route's function answers."""

from __future__ import annotations

import base64
import concurrent.futures
import fnmatch
import threading
import time
import uuid
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from devstack.apigw import authorizer_event, method_arn, policy_allows, proxy_event
from devstack.containers import Log
from devstack.gateway_responses import render
from devstack.lambda_service import LambdaService
from devstack.routes import Authorizer, RestApi, Route

# API Gateway stops waiting for an integration after 29 s (the function itself runs on).
INTEGRATION_TIMEOUT_S = 29.0
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's request size limit


class Denied(Exception):
    def __init__(self, response_type: str, message: str | None = None, context: Mapping[str, Any] | None = None):
        super().__init__(response_type)
        self.response_type = response_type
        self.message = message
        self.context = dict(context or {})


class Gateway:
    """What API Gateway does with one request, independent of the HTTP server."""

    def __init__(
        self, api: RestApi, lambdas: LambdaService, log: Log, *, integration_timeout: float = INTEGRATION_TIMEOUT_S
    ) -> None:
        self.api = api
        self.integration_timeout = integration_timeout
        self.lambdas = lambdas
        self.log = log
        self._cache: dict[tuple[str, tuple[str, ...]], tuple[float, dict[str, Any]]] = {}
        self._cache_lock = threading.Lock()
        self._integrations = concurrent.futures.ThreadPoolExecutor(max_workers=32, thread_name_prefix="integration")

    def handle(
        self, method: str, raw_path: str, headers: list[tuple[str, str]], body: bytes, source_ip: str
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        request_id = str(uuid.uuid4())
        started = time.monotonic()
        split = urlsplit(raw_path)
        path = unquote(split.path) or "/"
        query = parse_qsl(split.query, keep_blank_values=True)
        headers = [*headers, ("X-Forwarded-For", source_ip), ("X-Amzn-Trace-Id", _trace_id())]
        context: dict[str, Any] = {"requestId": request_id, "path": f"/{self.api.stage}{path}", "httpMethod": method}
        try:
            if len(body) > MAX_PAYLOAD_BYTES:
                raise Denied("REQUEST_TOO_LARGE")
            resource, route = self.api.match(method, path)
            if route is None:
                raise Denied("MISSING_AUTHENTICATION_TOKEN")
            authorizer_context = self._authorize(route, resource, method, path, headers, query, source_ip)
            context["authorizer"] = authorizer_context
            event = proxy_event(
                method,
                path,
                headers=headers,
                query=query,
                body=body if body else None,
                source_ip=source_ip,
                resource=resource,
                authorizer=authorizer_context if route.authorizer else None,
                stage=self.api.stage,
            )
            event["requestContext"]["requestId"] = request_id
            if body and self._is_binary(_header(headers, "Content-Type")):
                event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
            status, out_headers, out_body = self._integrate(route, event, _header(headers, "Accept"))
        except Denied as denied:
            context["authorizer"] = {**context.get("authorizer", {}), **denied.context}
            answer = render(self.api.gateway_responses, denied.response_type, message=denied.message, context=context)
            status, out_headers, out_body = answer.status, list(answer.headers.items()), answer.body
        self.log(f"{method} {split.path} -> {status} ({(time.monotonic() - started) * 1000:.0f} ms)")
        return status, [*out_headers, ("x-amzn-RequestId", request_id)], out_body

    # --- authorizer -------------------------------------------------------------------------------

    def _authorize(
        self,
        route: Route,
        resource: str,
        method: str,
        path: str,
        headers: list[tuple[str, str]],
        query: list[tuple[str, str]],
        source_ip: str,
    ) -> dict[str, Any]:
        authorizer = route.authorizer
        if authorizer is None:
            return {}
        identity = tuple(
            [_header(headers, h) or "" for h in authorizer.header_sources]
            + [dict(query).get(q, "") for q in authorizer.query_sources]
        )
        if (authorizer.header_sources or authorizer.query_sources) and not all(identity):
            raise Denied("UNAUTHORIZED")  # a missing identity source: the authorizer is not called
        arn = method_arn(method, path, stage=self.api.stage)
        response = self._cached(authorizer, identity) or self._call_authorizer(
            authorizer, identity, method, path, resource, headers, query, source_ip
        )
        context = {**response.get("context", {}), "principalId": response.get("principalId", "")}
        if not policy_allows(response, arn):
            raise Denied("ACCESS_DENIED", context=context)
        return context

    def _cached(self, authorizer: Authorizer, identity: tuple[str, ...]) -> dict[str, Any] | None:
        if not authorizer.ttl_seconds:
            return None
        with self._cache_lock:
            hit = self._cache.get((authorizer.name, identity))
        return hit[1] if hit and hit[0] > time.monotonic() else None

    def _call_authorizer(
        self,
        authorizer: Authorizer,
        identity: tuple[str, ...],
        method: str,
        path: str,
        resource: str,
        headers: list[tuple[str, str]],
        query: list[tuple[str, str]],
        source_ip: str,
    ) -> dict[str, Any]:
        if authorizer.payload_type == "REQUEST":
            event = authorizer_event(
                method, path, headers=headers, query=query, source_ip=source_ip, resource=resource, stage=self.api.stage
            )
        else:
            event = {
                "type": "TOKEN",
                "authorizationToken": identity[0],
                "methodArn": method_arn(method, path, stage=self.api.stage),
            }
        result = self.lambdas.invoke(authorizer.function, event)
        if result.function_error:
            if result.payload.get("errorMessage") == "Unauthorized":
                raise Denied("UNAUTHORIZED")
            self.log(f"authorizer {authorizer.function} failed: {result.payload.get('errorMessage')}")
            raise Denied("AUTHORIZER_FAILURE")
        response = result.payload
        if not isinstance(response, dict) or "policyDocument" not in response:
            self.log(f"authorizer {authorizer.function} returned no policy: {response!r}")
            raise Denied("AUTHORIZER_CONFIGURATION_ERROR")
        if authorizer.ttl_seconds:
            with self._cache_lock:
                self._cache[(authorizer.name, identity)] = (time.monotonic() + authorizer.ttl_seconds, response)
        return response

    # --- integration ------------------------------------------------------------------------------

    def _integrate(
        self, route: Route, event: dict[str, Any], accept: str | None
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        future = self._integrations.submit(self.lambdas.invoke, route.function, event)
        try:
            result = future.result(timeout=self.integration_timeout)
        except concurrent.futures.TimeoutError:
            raise Denied("INTEGRATION_TIMEOUT") from None
        response = result.payload
        if result.function_error or not _valid_proxy_response(response):
            self.log(f"{route.function} failed or answered a malformed proxy response: {response!r}")
            return 502, [("Content-Type", "application/json")], b'{"message": "Internal server error"}'
        headers: list[tuple[str, str]] = [(k, str(v)) for k, v in (response.get("headers") or {}).items()]
        for name, values in (response.get("multiValueHeaders") or {}).items():
            headers = [h for h in headers if h[0].lower() != name.lower()]
            headers += [(name, str(v)) for v in values]
        if not any(name.lower() == "content-type" for name, _ in headers):
            headers.append(("Content-Type", "application/json"))
        body_text = response.get("body") or ""
        if response.get("isBase64Encoded") and self._is_binary(accept):
            body = base64.b64decode(body_text)
        else:
            body = body_text.encode()
        return int(response["statusCode"]), headers, body

    def _is_binary(self, content_type: str | None) -> bool:
        if not content_type:
            return False
        first = content_type.split(",")[0].split(";")[0].strip().lower()
        return any(fnmatch.fnmatchcase(first, pattern.lower()) for pattern in self.api.binary_media_types)

    def stop(self) -> None:
        self._integrations.shutdown(wait=False, cancel_futures=True)


def _valid_proxy_response(response: Any) -> bool:
    if not isinstance(response, dict) or "statusCode" not in response:
        return False
    try:
        int(response["statusCode"])
    except (TypeError, ValueError):
        return False
    return response.get("body") is None or isinstance(response.get("body"), str)


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((v for k, v in reversed(headers) if k.lower() == name.lower()), None)


def _trace_id() -> str:
    return f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"


class _HttpHandler(BaseHTTPRequestHandler):
    server: GatewayServer
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, headers, out = self.server.gateway.handle(
            self.command, self.path, list(self.headers.items()), body, self.client_address[0]
        )
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the gateway logs one line per request itself."""


class GatewayServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], gateway: Gateway) -> None:
        self.gateway = gateway
        super().__init__(address, _HttpHandler)
