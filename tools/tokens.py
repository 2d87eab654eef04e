"""Manage API tokens straight in DynamoDB (the plugin's settings page), e.g. to mint the first
token of a deployment: ``python -m tools.tokens create|list|revoke|rotate``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from relayq.container import container
from relayq.domain.errors import TokenNotFound
from relayq.dynamodb.tokens import SCOPES, TokenStore


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tools.tokens", description="Manage relayq API tokens.")
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


def main(argv: Sequence[str] | None = None, store: TokenStore | None = None) -> int:
    args = _parser().parse_args(argv)
    store = store or container().tokens
    try:
        if args.command == "create":
            if args.rate_limit is not None and args.rate_limit < 1:
                print("--rate-limit must be at least 1", file=sys.stderr)
                return 2
            output: Any = store.create(args.name, args.scope, args.rate_limit).model_dump()
        elif args.command == "list":
            output = [t.model_dump() for t in store.list(include_revoked=not args.active)]
        elif args.command == "revoke":
            output = store.revoke(args.token_id).model_dump()
        else:
            output = store.rotate(args.token_id).model_dump()
    except TokenNotFound as error:
        print(error.message, file=sys.stderr)
        return 1
    print(json.dumps(output, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
