"""Celery's filesystem broker, with messages that appear whole.

kombu's filesystem transport writes a message file in place, and a consumer
polling the folder can move and read it before the writer has written it: it
reads an empty file and the worker stops on a JSONDecodeError. With the
sweeper ticking every few seconds under ``make run`` that happened within
minutes. Here a message is written under a name no consumer picks up and
renamed into place, which is atomic on one file system.

The exchange tables in the control folder had the same fault: binding a queue
to a new exchange created the table file empty and wrote it after taking the
lock, so a producer reading the table in between read nothing. A new table is
written aside and linked into place, so it appears whole, and only once.

And kombu shares one in-memory record of bindings among every connection of a
process, which it fills before it writes the table: a thread publishing in that
gap saw the queue as bound, read no table and dropped its message. Here the
table is written first.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic

from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # Consumers only take "<stamp>_<uuid>.<queue>.msg"; a leading dot is never that.
        partial = os.path.join(self.data_folder_out, f".{name}.part")
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise filesystem.ChannelError(f"Cannot add file {final!r} to directory") from exc


    def queue_bind(self, queue, exchange=None, routing_key="", arguments=None, **kwargs):
        exchange = exchange or "amq.direct"
        binding = self.typeof(exchange).prepare_bind(queue, exchange, routing_key, arguments)
        self._queue_bind(exchange, *binding)  # on disk before any thread can see it in memory
        super().queue_bind(queue, exchange, routing_key, arguments, **kwargs)  # finds it on disk: no write

    def _queue_bind(self, exchange, routing_key, pattern, queue):
        table = self._exchange_file(exchange)
        self.control_folder.mkdir(exist_ok=True)
        if not table.exists():
            binding = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
            partial = table.with_name(f".{table.name}.{uuid.uuid4()}.part")
            try:
                partial.write_bytes(str_to_bytes(dumps([binding])))
                os.link(partial, table)  # fails if another binder created it first
                return
            except FileExistsError:
                pass  # kombu's own path below adds the binding under the table's lock
            except OSError as exc:
                raise filesystem.ChannelError(f"Cannot create {table}") from exc
            finally:
                partial.unlink(missing_ok=True)
        super()._queue_bind(exchange, routing_key, pattern, queue)


class Transport(filesystem.Transport):
    Channel = Channel


TRANSPORT_ALIASES.setdefault("atomicfs", "mlops_studio.filebroker:Transport")
