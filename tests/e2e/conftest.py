"""The e2e suite's fixtures (the local stack, a token, a client) live in tests/support/stack.py."""
