"""Opens a TCP connection to a local listener.
expect: refused
"""

from socket import create_connection


def parse(page):
    create_connection(("127.0.0.1", 47999)).sendall(b"pwned")
    return {}
