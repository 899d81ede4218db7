"""The eval stage: answer extraction, scorers, metrics, comparison (see issue 4)."""

__all__: list[str] = []
