"""The file broker of `make run` never hands a consumer a message that is still being written."""

from __future__ import annotations

import threading
import time

from kombu import Connection

import mlops_studio.filebroker  # noqa: F401 - registers atomicfs:// (kombu's own filesystem:// fails this test)


def _connection(folder) -> Connection:
    return Connection(
        "atomicfs://",
        transport_options={
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "control_folder": str(folder / "control"),
            "polling_interval": 0.001,
        },
    )


def test_a_consumer_polling_while_messages_are_written_reads_every_message_whole(tmp_path):
    (tmp_path / "queue").mkdir()
    (tmp_path / "control").mkdir()
    blob = "x" * 200_000  # large enough that writing a message is not instant
    count = 200
    received, errors = [], []

    def consume() -> None:
        with _connection(tmp_path) as connection:
            queue = connection.SimpleQueue("steps")
            try:
                while len(received) < count:
                    message = queue.get(timeout=30)
                    received.append(message.payload)
                    message.ack()
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)

    consumer = threading.Thread(target=consume)
    consumer.start()
    with _connection(tmp_path) as producer:
        queue = producer.SimpleQueue("steps")
        for index in range(count):
            queue.put({"blob": blob, "index": index})
    consumer.join(timeout=60)

    assert errors == []
    assert sorted(m["index"] for m in received) == list(range(count))
    assert all(m["blob"] == blob for m in received)


def _channel(folder):
    connection = Connection(
        "atomicfs://",
        transport_options={
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "control_folder": str(folder / "control"),
        },
    )
    return connection, connection.default_channel


def test_a_producer_reading_an_exchange_table_while_a_queue_is_bound_to_it_never_reads_it_half_made(tmp_path):
    """The CI failure: a producer read a new exchange's table while a consumer created it, and found it empty."""
    (tmp_path / "queue").mkdir()
    (tmp_path / "control").mkdir()
    binder_connection, binder = _channel(tmp_path)
    reader_connection, reader = _channel(tmp_path)
    errors, rounds = [], 200
    try:
        for index in range(rounds):
            exchange, found = f"steps-{index}", []

            def read_until_bound(exchange=exchange, found=found) -> None:
                try:
                    while not found:
                        found.extend(reader.get_table(exchange))
                        time.sleep(0)  # let the binder have the GIL between reads
                except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                    errors.append(exc)

            thread = threading.Thread(target=read_until_bound)
            thread.start()
            binder._queue_bind(exchange, "steps", None, f"queue-{index}")
            thread.join(timeout=10)
            assert not thread.is_alive(), f"round {index}: the reader never saw the binding"
            if errors:
                break
            assert found == [("steps", "", f"queue-{index}")]
    finally:
        binder_connection.release()
        reader_connection.release()
    assert errors == []


def test_queues_bound_to_one_new_exchange_at_once_are_all_kept(tmp_path):
    (tmp_path / "queue").mkdir()
    (tmp_path / "control").mkdir()
    channels = [_channel(tmp_path) for _ in range(8)]
    start = threading.Barrier(len(channels))
    errors = []

    def bind(index: int) -> None:
        start.wait()
        try:
            channels[index][1]._queue_bind("events", f"key-{index}", None, f"queue-{index}")
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=bind, args=(index,)) for index in range(len(channels))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    table = channels[0][1].get_table("events")
    for connection, _ in channels:
        connection.release()
    assert errors == []
    assert sorted(binding.queue for binding in table) == [f"queue-{index}" for index in range(len(channels))]
