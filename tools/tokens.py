"""Manage API tokens straight in DynamoDB (the plugin's settings page), e.g. to mint the first
token of a deployment: ``python -m tools.tokens create|list|revoke|rotate``.

Where the tokens are: the environment's settings (``QUEUE_TOKENS_TABLE``, an AWS region and
credentials) for a deployment; otherwise the local stack's, from the settings file ``make run``
writes (``.local/env``, or ``--env-file``). A user's mistake is one line on stderr, never a traceback."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
)
from pydantic import ValidationError

from devstack.tokens import read_env_file
from relayq.container import container
from relayq.domain.errors import StoreUnavailable, TokenNotFound
from relayq.dynamodb.tokens import SCOPES, TokenStore

# What `make run` writes (devstack.stack.LocalStack.write_env_file): the local stack's endpoints,
# region, credentials and table names.
LOCAL_ENV_FILE = Path(__file__).resolve().parents[1] / ".local" / "env"
# Set in the environment, it says the settings are there (a deployment's): no file is read.
TABLE_VARIABLE = "QUEUE_TOKENS_TABLE"
# Exit statuses: 1 the command failed (no such token, the store unreachable), 2 a usage or setup error.
FAILED, USAGE = 1, 2


class CliError(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tools.tokens", description="Manage relayq API tokens.")
    parser.add_argument(
        "--env-file",
        type=Path,
        default=None,
        help=f"settings file to use (default: the environment if it sets {TABLE_VARIABLE}, "
        f"else the local stack's {LOCAL_ENV_FILE.parent.name}/{LOCAL_ENV_FILE.name}, written by `make run`)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="make a token and print its secret (shown only once)")
    create.add_argument("--name", required=True)
    create.add_argument("--scope", choices=SCOPES, default="worker")
    create.add_argument("--rate-limit", type=int, default=None, help="calls per minute (default: the deployment's)")
    listing = commands.add_parser("list", help="list tokens (never their secrets)")
    listing.add_argument("--active", action="store_true", help="leave out revoked tokens")
    revoke = commands.add_parser("revoke", help="stop a token from working")
    revoke.add_argument("token_id")
    rotate = commands.add_parser("rotate", help="replace a token's secret; the old one stops working")
    rotate.add_argument("token_id")
    return parser


def settings_source(env_file: Path | None) -> str:
    """Put the settings in place and say where they come from (for the error messages)."""
    if env_file is None and os.environ.get(TABLE_VARIABLE):
        return "the environment"
    path = env_file or LOCAL_ENV_FILE
    values = read_env_file(path)
    if not values:
        raise CliError(
            f"no settings: {path} is missing or empty. Start the local stack (`make run` writes it), "
            f"pass --env-file FILE, or set {TABLE_VARIABLE}, AWS_DEFAULT_REGION and credentials for a deployment",
            USAGE,
        )
    os.environ.update(values)  # the file wins: a shell's region or profile would point elsewhere
    return str(path)


def _store_error(error: BaseException, source: str) -> CliError:
    """One line for what went wrong under the token store (its errors wrap boto's)."""
    cause = error.__cause__ if isinstance(error, StoreUnavailable) and error.__cause__ else error
    if isinstance(cause, NoRegionError):
        return CliError(
            f"no AWS region (settings from {source}): set AWS_DEFAULT_REGION (or a profile's) or pass --env-file",
            USAGE,
        )
    if isinstance(cause, NoCredentialsError):
        return CliError(f"no AWS credentials (settings from {source}): set a profile or keys", USAGE)
    if isinstance(cause, EndpointConnectionError):
        return CliError(
            f"cannot reach DynamoDB at {cause.kwargs.get('endpoint_url')} (settings from {source}): "
            "is the local stack running (`make run`)?",
            FAILED,
        )
    if isinstance(cause, ClientError):
        code = cause.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            return CliError(
                f"no table {os.environ.get(TABLE_VARIABLE, '?')} (settings from {source}): "
                f"wrong {TABLE_VARIABLE} or region?",
                FAILED,
            )
        return CliError(f"DynamoDB refused the call ({code}; settings from {source}): {cause}", FAILED)
    return CliError(f"{type(cause).__name__}: {cause} (settings from {source})", FAILED)


def run(args: argparse.Namespace, store: TokenStore) -> Any:
    if args.command == "create":
        if args.rate_limit is not None and args.rate_limit < 1:
            raise CliError("--rate-limit must be at least 1", USAGE)
        return store.create(args.name, args.scope, args.rate_limit).model_dump()
    if args.command == "list":
        return [t.model_dump() for t in store.list(include_revoked=not args.active)]
    try:
        if args.command == "revoke":
            return store.revoke(args.token_id).model_dump()
        return store.rotate(args.token_id).model_dump()
    except TokenNotFound as error:
        raise CliError(f"{error.message} No live token has the id {args.token_id!r} (see `list`).", FAILED) from None


def main(argv: Sequence[str] | None = None, store: TokenStore | None = None) -> int:
    args = _parser().parse_args(argv)
    source = "the caller"
    try:
        if store is None:
            source = settings_source(args.env_file)
            try:
                store = container().tokens
            except ValidationError as error:
                raise CliError(f"invalid settings (from {source}): {error.errors()[0]['msg']}", USAGE) from None
        output = run(args, store)
    except CliError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.status
    except (StoreUnavailable, BotoCoreError, ClientError) as error:
        failure = _store_error(error, source)
        print(f"error: {failure}", file=sys.stderr)
        return failure.status
    print(json.dumps(output, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
