"""The Temporal platform layer, apart from product code: the data converter every client, worker
and replayer shares, payload encryption with its keys, and the codec server for the Web UI."""
