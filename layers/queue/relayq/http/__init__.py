"""The functions' edge, shared by all of them: the HTTP status and the contract's body of every
domain error (also the worker's error answers), input validation into those errors, the JSON
answer, and the request log line."""
