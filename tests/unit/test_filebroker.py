"""The file broker of `make run` never hands a consumer a message that is still being written."""

from __future__ import annotations

import threading

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
