"""The API's own documents: the OpenAPI document, Swagger UI over it, and the dashboard's static
files (no authorizer: the page asks for a token and calls this API with it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from relayq import __version__
from relayq.domain.errors import NoRoute
from relayq.http.responses import json_response

TITLE = "relayq REST API"
DASHBOARD = Path(__file__).parents[1] / "dashboard"
# Swagger UI as a static page reading openapi.json: Powertools' enable_swagger() would build the
# whole OpenAPI model at import, a fifth of the API's cold start. Its files come from the layer
# (swagger-ui-bundle-v2), so the page needs nothing from the internet. Relative URLs: behind API
# Gateway the page is /v1/docs and its files /v1/docs/<file>.
SWAGGER_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>relayq REST API</title>
<link rel="stylesheet" href="docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "openapi.json", dom_id: "#swagger-ui", deepLinking: true});</script></body></html>
"""
# The files of Swagger UI's package that the page loads, and no other (text only: the REST API
# declares no binary media types).
SWAGGER_FILES = frozenset({"swagger-ui.css", "swagger-ui-bundle.js"})

router = APIGatewayRouter()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated


def openapi_document(app: ApiGatewayResolver) -> str:
    """The OpenAPI document of every route ``app`` has (functions/api/openapi.json is its copy)."""
    return app.get_openapi_json_schema(title=TITLE, version=__version__)


@router.get("/dashboard", summary="The dashboard page", tags=["dashboard"], include_in_schema=False)
@router.get("/dashboard/<file>", summary="The dashboard's files", tags=["dashboard"], include_in_schema=False)
def dashboard(file: str = "") -> Response[Any]:
    return _static(DASHBOARD, file)


@router.get("/docs/<file>", summary="Swagger UI's files", tags=["docs"], include_in_schema=False)
def swagger_file(file: str) -> Response[Any]:
    if file not in SWAGGER_FILES:
        raise NoRoute()
    from swagger_ui_bundle import swagger_ui_path  # only here: the API's other routes never need it

    return _static(Path(swagger_ui_path), file)


def _static(root: Path, file: str) -> Response[Any]:
    from dashboard_files import dashboard_file

    found = dashboard_file(root, file)
    if found is None:
        raise NoRoute()
    return Response(
        status_code=200,
        content_type=found.content_type,
        body=found.body.decode(),
        headers={"Cache-Control": found.cache_control},
    )


@router.get("/openapi.json", summary="This API's OpenAPI document", tags=["docs"])
def openapi() -> Response[Any]:
    # include_router made this router's resolver the API's.
    return json_response(200, json.loads(openapi_document(cast(ApiGatewayResolver, router.api_resolver))))


@router.get("/docs", summary="Swagger UI for this API", tags=["docs"])
def swagger_ui() -> Response[str]:
    return Response(status_code=200, content_type="text/html; charset=utf-8", body=SWAGGER_PAGE)
