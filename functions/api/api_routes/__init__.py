"""The REST API's routes, one Powertools router per concern (jobs, workers, stats, tokens, docs and
the dashboard), joined by the resolver in ``api_app``."""
