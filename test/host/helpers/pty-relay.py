#!/usr/bin/env python3
"""
Test stand-in for QEMU's virtio-serial port: a pty whose slave side plays the
guest's /dev/vportNpM, relayed to a UNIX stream socket (the BMC's KCS wire)
that is reconnected whenever it drops, as QEMU's `-chardev socket,reconnect=1`
does. Prints the slave's path first, then one line per connect/disconnect.
When stdin is a pipe or socket, exits as soon as it closes (the test process went away).

usage: pty-relay.py SOCKET_PATH
"""
import os
import pty
import select
import socket
import stat
import sys
import time
import tty


def main() -> None:
    path = sys.argv[1]
    master, slave = pty.openpty()
    tty.setraw(slave)  # no echo, no line editing, no CR/LF translation: bytes pass unchanged
    # Our own slave descriptor stays open: with none open, the master reads EIO.
    print(os.ttyname(slave), flush=True)
    sock = None
    next_try = 0.0
    mode = os.fstat(sys.stdin.fileno()).st_mode
    watch_stdin = stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)
    while True:
        if sock is None and time.monotonic() >= next_try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
                sock = s
                print("connected", flush=True)
            except OSError:
                s.close()
                next_try = time.monotonic() + 0.05
        fds = [master] + ([sys.stdin] if watch_stdin else []) + ([sock] if sock else [])
        readable, _, _ = select.select(fds, [], [], 0.05)
        if sys.stdin in readable and not os.read(sys.stdin.fileno(), 4096):
            return
        if master in readable:
            data = os.read(master, 65536)
            if sock is not None:  # while disconnected the bytes are lost, as with a real chardev
                try:
                    sock.sendall(data)
                except OSError:
                    sock = drop(sock)
                    next_try = time.monotonic() + 0.05
        if sock is not None and sock in readable:
            try:
                data = sock.recv(65536)
            except OSError:
                data = b""
            if data:
                os.write(master, data)
            else:
                sock = drop(sock)
                next_try = time.monotonic() + 0.05


def drop(sock: socket.socket) -> None:
    sock.close()
    print("disconnected", flush=True)
    return None


if __name__ == "__main__":
    main()
