"""Drives handler.py the way Lambda drives one warm container, and prints one JSON result.

    python run.py --ids-file FILE [--batch-size 10] [--warm-up-batches 1]

FILE holds one call id per line. DATABASE_URL, LLM_BASE_URL, LLM_API_KEY, ANALYZER_CONCURRENCY
(and the handler's other settings) come from the environment.

handler.py is imported once before the clock starts (the cold start: pool connected, clients
built, is not timed). The ids are cut into SQS events shaped like Lambda's, and
handler.lambda_handler(event, context) is called for each batch in turn, as one container
receives them. The first --warm-up-batches of them run before the clock starts and are not
counted (the container's first batch opens its HTTP connections; `postcall bench` warms its own
containers the same way). Timed: each batch's wall time, and each record's time inside the batch (read from
handler.RECORD_DURATIONS_S). Failed records are those in batchItemFailures (all of a batch's
records if the handler raised, as Lambda would redeliver them all).

stdout carries exactly one JSON object:
    {"calls", "failed", "wall_s", "calls_per_s", "record_p50_ms", "record_p95_ms",
     "batch_p50_ms", "python", "packages"}
calls_per_s counts the calls analyzed (calls - failed, both after the warm-up) per second of
wall time; "failed" includes the warm-up's. Everything else,
logs included, goes to stderr.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import sys
import time
import uuid
from datetime import datetime, timezone
from importlib import metadata

QUEUE_ARN = "arn:aws:sqs:us-east-1:000000000000:call-completed"


class FakeLambdaContext:
    """The LambdaContext attributes Powertools and the handler read; a fresh deadline per call."""

    function_name = "postcall-analyzer-python-baseline"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:postcall-analyzer-python-baseline"
    memory_limit_in_mb = 256
    log_group_name = "/aws/lambda/postcall-analyzer-python-baseline"
    log_stream_name = "bench"

    def __init__(self, timeout_s: float):
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def sqs_event(call_ids: list[str]) -> dict:
    now_ms = str(int(time.time() * 1000))
    ended_at = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    records = []
    for call_id in call_ids:
        body = json.dumps({"callId": call_id, "endedAt": ended_at}, separators=(",", ":"))
        records.append(
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "AQEB" + uuid.uuid4().hex + uuid.uuid4().hex,
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": now_ms,
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": now_ms,
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": QUEUE_ARN,
                "awsRegion": "us-east-1",
            }
        )
    return {"Records": records}


def percentile_ms(values_s: list[float], q: float) -> float | None:
    """Nearest-rank percentile, in milliseconds."""
    if not values_s:
        return None
    ordered = sorted(values_s)
    rank = max(1, math.ceil(q * len(ordered)))
    return round(ordered[rank - 1] * 1000, 3)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids-file", required=True, help="one call id per line")
    parser.add_argument("--batch-size", type=int, default=10, help="records per SQS event (Lambda's BatchSize)")
    parser.add_argument(
        "--lambda-timeout-s", type=float, default=60.0,
        help="the function's timeout, for the context's remaining time (template default 60)",
    )
    parser.add_argument(
        "--warm-up-batches", type=int, default=1,
        help="batches run before the clock starts, not counted (default 1)",
    )
    args = parser.parse_args()
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    if args.warm_up_batches < 0:
        parser.error("--warm-up-batches must be 0 or more")

    with open(args.ids_file, encoding="utf-8") as f:
        call_ids = [line.strip() for line in f if line.strip()]
    batches = [call_ids[i : i + args.batch_size] for i in range(0, len(call_ids), args.batch_size)]
    events = [sqs_event(batch) for batch in batches]

    # Only the result goes to the real stdout: anything printed by the handler or a library
    # lands on stderr.
    real_stdout = sys.stdout
    sys.stdout = sys.stderr
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "postcall-analyzer-python-baseline")
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

    import handler  # the cold start: not timed

    warm_up, events = events[: args.warm_up_batches], events[args.warm_up_batches :]
    warm_up_failed = 0
    for event in warm_up:
        try:
            response = handler.lambda_handler(event, FakeLambdaContext(args.lambda_timeout_s))
            warm_up_failed += len(response.get("batchItemFailures", []))
        except Exception as e:  # counted as failed, as below
            print(f"warm-up invocation failed: {type(e).__name__}: {e}", file=sys.stderr)
            warm_up_failed += len(event["Records"])
    timed_calls = sum(len(event["Records"]) for event in events)

    handler.RECORD_DURATIONS_S.clear()
    batch_times: list[float] = []
    failed = 0
    wall_start = time.perf_counter()
    for event in events:
        context = FakeLambdaContext(args.lambda_timeout_s)
        started = time.perf_counter()
        try:
            response = handler.lambda_handler(event, context)
            failed += len(response.get("batchItemFailures", []))
        except Exception as e:  # Lambda would retry the whole batch
            print(f"invocation failed: {type(e).__name__}: {e}", file=sys.stderr)
            failed += len(event["Records"])
        batch_times.append(time.perf_counter() - started)
    wall_s = time.perf_counter() - wall_start
    record_times = list(handler.RECORD_DURATIONS_S)

    handler.executor.shutdown(wait=True)
    handler.http.close()
    handler.pool.close()

    result = {
        "calls": timed_calls,
        "failed": failed + warm_up_failed,
        "wall_s": round(wall_s, 6),
        "calls_per_s": round((timed_calls - failed) / wall_s, 3) if wall_s > 0 else 0.0,
        "record_p50_ms": percentile_ms(record_times, 0.50),
        "record_p95_ms": percentile_ms(record_times, 0.95),
        "batch_p50_ms": percentile_ms(batch_times, 0.50),
        "python": platform.python_version(),
        "packages": {
            name: metadata.version(name) for name in ("psycopg", "aws-lambda-powertools", "httpx")
        },
    }
    real_stdout.write(json.dumps(result) + "\n")
    real_stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
