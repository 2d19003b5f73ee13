"""The generated worker against a real Azurite, run with the solution's own Python:
``<solution>/.venv/bin/python measure_worker.py SOLUTION RESULT_JSON [--runs N]``.

- Throughput: the worker (its ``QueueConsumer(settings, service, handle).run(stop)``)
  handles MESSAGES messages with a trivial handler, against a naive loop on the same client
  settings that receives one message per request and deletes it. Timed from the start until
  the last message is deleted. Both log one line per message, as ``main()`` sets logging up
  (to the null device here).
- Ceiling: what Azurite allows with the worker's shape and nothing of the worker: one
  receive of BATCH_SIZE messages, then its messages deleted by DELETE_THREADS threads,
  again and again; no handler, no logging, no telemetry, no back-off. Same client
  settings and ``raw_response_hook``. The worker's goal is 0.8x this figure.
- CPU: milliseconds of CPU per message, of this process (the idle worker's few requests
  included) and of Azurite, over each timed run.
- Requests per message: every request of the client, counted with ``raw_response_hook``,
  until the last delete. The floor is one delete per message plus one receive per 32.
- Idle: a worker with the default back-off on an empty queue, running meanwhile in its own
  thread; its requests in the minute that follows its first minute of idling.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from statistics import median

log = logging.getLogger("worker")


class Requests:
    """A ``raw_response_hook`` that counts a client's requests and notes when the
    ``wanted``-th message has been deleted."""

    def __init__(self, wanted: int = 0):
        self.wanted = wanted
        self.total = 0
        self.deleted = 0
        self.times: list[float] = []
        self.total_when_done = 0
        self.done_at = 0.0
        self.done = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, response) -> None:
        with self._lock:
            self.total += 1
            self.times.append(time.perf_counter())
            if response.http_request.method == "DELETE" and response.http_response.status_code == 204:
                self.deleted += 1
                if self.deleted == self.wanted:
                    self.done_at = time.perf_counter()
                    self.total_when_done = self.total
                    self.done.set()


def trivial_handle(message) -> None:
    """The handler measured: it does nothing, so the figures are the loop's own."""


def fill(queue_client_class, connection_string: str, queue_name: str, count: int) -> None:
    with queue_client_class.from_connection_string(connection_string, queue_name) as queue:
        queue.create_queue()
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda n: queue.send_message(f"message {n}"), range(count)))
        waiting = queue.get_queue_properties().approximate_message_count
        if waiting != count:
            raise RuntimeError(f"{queue_name}: {waiting} messages instead of {count}")


def time_worker(consumer, settings, count: int) -> dict:
    requests = Requests(count)
    stop = threading.Event()
    with consumer.connect(settings, raw_response_hook=requests) as service:
        loop = consumer.QueueConsumer(settings, service, trivial_handle)
        thread = threading.Thread(target=loop.run, args=(stop,), name="measured-worker")
        started = time.perf_counter()
        thread.start()
        finished = requests.done.wait(timeout=600)
        stop.set()
        thread.join()
    if not finished:
        raise RuntimeError(f"the worker deleted {requests.deleted} of {count} messages in 600 s")
    return result(count, requests, started)


def time_naive_loop(consumer, settings, count: int) -> dict:
    requests = Requests(count)
    with consumer.connect(settings, raw_response_hook=requests) as service:
        queue = service.get_queue_client(settings.queue_name)
        started = time.perf_counter()
        handled = 0
        while handled < count:
            message = queue.receive_message(visibility_timeout=settings.visibility_timeout)
            if message is None:
                continue
            trivial_handle(message)
            queue.delete_message(message)
            log.info("Message %s handled", message.id)
            handled += 1
    return result(count, requests, started)


def time_ceiling(consumer, settings, count: int) -> dict:
    requests = Requests(count)
    with consumer.connect(settings, raw_response_hook=requests) as service:
        queue = service.get_queue_client(settings.queue_name)
        with ThreadPoolExecutor(consumer.DELETE_THREADS) as deleter:
            started = time.perf_counter()
            while not requests.done.is_set():
                batch = next(queue.receive_messages(
                    messages_per_page=consumer.BATCH_SIZE, visibility_timeout=settings.visibility_timeout
                ).by_page())
                list(deleter.map(queue.delete_message, batch))
    return result(count, requests, started)


def result(count: int, requests: Requests, started: float) -> dict:
    seconds = requests.done_at - started
    return {
        "seconds": seconds,
        "messages_per_second": count / seconds,
        "requests": requests.total_when_done,
        "requests_per_message": requests.total_when_done / count,
    }


class CpuTimes:
    """CPU seconds used by this process and by Azurite's node process (with psutil, which
    the solution has through azure-monitor-opentelemetry; without it, this process only).
    Less sensitive than wall time to other work on a shared machine."""

    def __init__(self, azurite_pid: int):
        try:
            import psutil
        except ImportError:
            self.azurite = None
        else:
            self.azurite = psutil.Process(azurite_pid)

    def read(self) -> tuple[float, float | None]:
        node = sum(self.azurite.cpu_times()[:2]) if self.azurite else None
        return time.process_time(), node

    def per_message(self, before: tuple[float, float | None], count: int) -> dict:
        after = self.read()
        figures = {"python_cpu_ms_per_message": (after[0] - before[0]) * 1000 / count}
        if after[1] is not None:
            figures["azurite_cpu_ms_per_message"] = (after[1] - before[1]) * 1000 / count
        return figures


class IdleWorker:
    """A worker with the default settings on an empty queue, in a thread of its own."""

    def __init__(self, consumer, settings, window: float):
        self.consumer = consumer
        self.settings = settings
        self.window = window
        self.requests = Requests()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="idle-worker")

    def _run(self) -> None:
        with self.consumer.connect(self.settings, raw_response_hook=self.requests) as service:
            self.consumer.QueueConsumer(self.settings, service, trivial_handle).run(self.stop)

    def start(self) -> None:
        self.started = time.perf_counter()
        self.thread.start()

    def finish(self) -> dict:
        """Wait for the end of the second window, stop, and count."""
        self.stop.wait(max(0.0, self.started + 2 * self.window - time.perf_counter()))
        self.stop.set()
        self.thread.join()
        times = [t - self.started for t in self.requests.times]
        in_second_window = [t for t in times if self.window <= t < 2 * self.window]
        return {
            "max_idle_backoff_s": self.settings.max_idle_backoff,
            "idled_before_counting_s": self.window,
            "counted_for_s": self.window,
            "requests_counted": len(in_second_window),
            "requests_per_minute": len(in_second_window) * 60 / self.window,
            "request_times_s": [round(t, 3) for t in times],
        }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("solution", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--role", default="WorkerRole")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--idle-window", type=float, default=60.0,
                        help="seconds of idling before counting, and of counting")
    args = parser.parse_args()
    solution = args.solution.resolve()
    sys.path[:0] = [str(solution / args.role), str(solution)]

    import queue_consumer
    from azure.storage.queue import QueueClient
    from cloudservice import azurite

    # As the worker's main() does, but into the null device.
    logging.basicConfig(stream=open(os.devnull, "w", encoding="utf-8"), level=logging.INFO)  # noqa: SIM115
    logging.getLogger("azure").setLevel(logging.WARNING)

    data = Path(tempfile.mkdtemp(prefix="azurite-"))
    figures: dict = {"worker": [], "ceiling": [], "naive": []}
    try:
        with azurite.running(data, log=lambda text: print(text, file=sys.stderr)) as storage:
            def settings_for(queue_name: str, **changes):
                return queue_consumer.Settings(storage.connection_string, queue_name=queue_name, **changes)

            idle_queue = f"idle-{uuid.uuid4().hex[:12]}"
            with QueueClient.from_connection_string(storage.connection_string, idle_queue) as queue:
                queue.create_queue()
            idle = IdleWorker(queue_consumer, settings_for(idle_queue), args.idle_window)
            idle.start()

            ways = {"worker": time_worker, "ceiling": time_ceiling, "naive": time_naive_loop}
            for way, measure in ways.items():  # untimed: warms the client and Azurite
                name = f"warm-{way}-{uuid.uuid4().hex[:8]}"
                fill(QueueClient, storage.connection_string, name, 200)
                measure(queue_consumer, settings_for(name), 200)
            cpu = CpuTimes(storage.process.pid)
            for round_number in range(args.runs):
                # Every other round in the opposite order, so that a machine slowing down or
                # speeding up over the run favours no way.
                order = list(ways) if round_number % 2 == 0 else list(reversed(ways))
                for way in order:
                    print(f"  worker round {round_number + 1} of {args.runs}: {way}", file=sys.stderr,
                          flush=True)
                    name = f"{way}-{uuid.uuid4().hex[:12]}"
                    fill(QueueClient, storage.connection_string, name, args.messages)
                    before = cpu.read()
                    figures[way].append(ways[way](queue_consumer, settings_for(name), args.messages))
                    figures[way][-1].update(cpu.per_message(before, args.messages))
                    with QueueClient.from_connection_string(storage.connection_string, name) as queue:
                        queue.delete_queue()
            left = idle.started + 2 * idle.window - time.perf_counter()
            if left > 0:
                print(f"  idle worker: {left:.0f} s to go", file=sys.stderr, flush=True)
            idle_figures = idle.finish()
    finally:
        shutil.rmtree(data, ignore_errors=True)

    summary = {way: {
        "messages": args.messages,
        "messages_per_second": median(r["messages_per_second"] for r in runs),
        "requests_per_message": median(r["requests_per_message"] for r in runs),
        **{key: median(r[key] for r in runs) for key in runs[0] if key.endswith("_cpu_ms_per_message")},
        "runs": runs,
    } for way, runs in figures.items()}
    summary["worker_over_naive"] = (
        summary["worker"]["messages_per_second"] / summary["naive"]["messages_per_second"]
    )
    summary["worker_over_ceiling"] = (
        summary["worker"]["messages_per_second"] / summary["ceiling"]["messages_per_second"]
    )
    summary["ceiling_over_naive"] = (
        summary["ceiling"]["messages_per_second"] / summary["naive"]["messages_per_second"]
    )
    if all("azurite_cpu_ms_per_message" in summary[way] for way in ("worker", "ceiling")):
        def cpu_per_message(way: str) -> float:
            return (summary[way]["python_cpu_ms_per_message"]
                    + summary[way]["azurite_cpu_ms_per_message"])

        # What the ratio would be if CPU alone limited both (a loaded machine comes close).
        summary["ceiling_cpu_over_worker_cpu"] = cpu_per_message("ceiling") / cpu_per_message("worker")
    summary["tunables"] = {"BATCH_SIZE": queue_consumer.BATCH_SIZE,
                           "DELETE_THREADS": queue_consumer.DELETE_THREADS,
                           "FIRST_WAIT_SECONDS": queue_consumer.FIRST_WAIT_SECONDS}
    summary["idle"] = idle_figures
    args.output.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
