"""The plugins' own clients replayed literally over HTTP against the local stack (the fixtures of
tests/support/stack.py): what ../shared/notes/plugin-source-facts.md says each client sends and
reads. One module per client; a test here fails when a client written for either plugin would."""
