"""A bare Celery app for bench/dispatch.py: one task that answers over Redis.

Same broker and the same delivery settings as the product's worker
(acks_late, prefetch 1, prefork), but no database: it shows what Celery's own
round trip costs on this machine.
"""

import os
import time

import redis
from celery import Celery

BROKER = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")

app = Celery("bench_ping", broker=BROKER, set_as_current=False)  # the product app stays current
# Its own queue: bench/dispatch.py runs this worker beside the product's, on one broker.
app.conf.update(
    task_acks_late=True, worker_prefetch_multiplier=1, task_ignore_result=True, task_default_queue="bench-ping"
)
_redis = redis.Redis.from_url(BROKER)


@app.task(name="bench.ping")
def ping(sent: float) -> None:
    _redis.lpush("bench:celery-pong", repr(time.time() - sent))
