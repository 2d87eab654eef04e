"""The no-op job RQ runs in the side-by-side benchmarks."""


def noop() -> None:
    return None
