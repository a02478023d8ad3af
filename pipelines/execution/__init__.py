"""Running steps: artifacts, cache keys, the step executor. Knows neither Django nor Celery."""
