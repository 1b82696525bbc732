"""A separate writer process for the concurrency and crash tests.

    python -m tests.sessions.writer TARGET DATA_DIR SESSION_ID WRITER COUNT

Adds COUNT messages "WRITER:i" to SESSION_ID and prints "ack i" after each one returns.
"""
import sys

from ragtui.sessions import open_store


def main() -> None:
    target, data_dir, sid, writer, count = sys.argv[1:6]
    store = open_store(target, data_dir=data_dir)
    print("ready", flush=True)
    sys.stdin.readline()  # start together with the other writers
    for i in range(int(count)):
        store.add_message(sid, "user", f"{writer}:{i}")
        print(f"ack {i}", flush=True)
    store.close()


if __name__ == "__main__":
    main()
