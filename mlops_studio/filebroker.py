"""Celery's filesystem broker, with messages that appear whole.

kombu's filesystem transport writes a message file in place, and a consumer
polling the folder can move and read it before the writer has written it: it
reads an empty file and the worker stops on a JSONDecodeError. With the
sweeper ticking every few seconds under ``make run`` that happened within
minutes. Here a message is written under a name no consumer picks up and
renamed into place, which is atomic on one file system.
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


class Transport(filesystem.Transport):
    Channel = Channel


TRANSPORT_ALIASES.setdefault("atomicfs", "mlops_studio.filebroker:Transport")
