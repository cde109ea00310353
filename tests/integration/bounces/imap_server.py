"""A small IMAP4rev1 server on loopback for the bounce mailbox tests: one folder, plain
LOGIN, and the commands a mail reader needs to read and delete (UID SEARCH, UID FETCH,
UID STORE, EXPUNGE). Real sockets and imaplib's real dialogue; not a general server."""
from __future__ import annotations

import re
import socketserver
import threading

from tests.integration.servers import free_port


class Mailstore:
    def __init__(self, user: str, password: str, folder: str = "INBOX"):
        self.user, self.password, self.folder = user, password, folder
        self.messages: dict[int, bytes] = {}
        self.deleted: set[int] = set()
        self.next_uid = 1
        self.logins: list[tuple[str, str]] = []

    def add(self, raw: bytes) -> None:
        self.messages[self.next_uid] = raw
        self.next_uid += 1


class _Handler(socketserver.StreamRequestHandler):
    store: Mailstore

    def send(self, text: str | bytes) -> None:
        self.wfile.write(text if isinstance(text, bytes) else text.encode())

    def handle(self) -> None:
        self.send("* OK IMAP4rev1 test server ready\r\n")
        selected = False
        while line := self.rfile.readline():
            tag, _, rest = line.decode().rstrip("\r\n").partition(" ")
            command, _, args = rest.partition(" ")
            command, store = command.upper(), self.store
            if command == "UID":
                command, _, args = args.partition(" ")
                command = "UID " + command.upper()
            if command == "CAPABILITY":
                self.send(f"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n{tag} OK done\r\n")
            elif command == "LOGIN":
                user, password = [a.strip('"') for a in args.split(" ", 1)]
                store.logins.append((user, password))
                ok = (user, password) == (store.user, store.password)
                self.send(f"{tag} OK logged in\r\n" if ok else f"{tag} NO [AUTHENTICATIONFAILED] bad login\r\n")
            elif command in ("SELECT", "EXAMINE"):
                selected = args.strip('"') == store.folder
                self.send(f"* {len(store.messages)} EXISTS\r\n* FLAGS (\\Deleted \\Seen)\r\n{tag} OK [READ-WRITE] "
                          "selected\r\n" if selected else f"{tag} NO no such folder\r\n")
            elif command == "UID SEARCH" and selected:
                self.send(f"* SEARCH {' '.join(map(str, sorted(store.messages)))}\r\n{tag} OK done\r\n")
            elif command == "UID FETCH" and selected:
                uid = int(args.split(" ", 1)[0])
                raw = store.messages.get(uid)
                if raw is not None:
                    seq = sorted(store.messages).index(uid) + 1
                    self.send(f"* {seq} FETCH (UID {uid} BODY[] {{{len(raw)}}}\r\n".encode() + raw + b")\r\n")
                self.send(f"{tag} OK done\r\n")
            elif command == "UID STORE" and selected:
                uid = int(re.match(r"\d+", args)[0])
                store.deleted.add(uid)
                self.send(f"{tag} OK done\r\n")
            elif command == "EXPUNGE" and selected:
                for uid in sorted(store.deleted, reverse=True):
                    if uid in store.messages:
                        self.send(f"* {sorted(store.messages).index(uid) + 1} EXPUNGE\r\n")
                        del store.messages[uid]
                store.deleted.clear()
                self.send(f"{tag} OK done\r\n")
            elif command == "CLOSE":
                selected = False
                self.send(f"{tag} OK closed\r\n")
            elif command == "LOGOUT":
                self.send(f"* BYE\r\n{tag} OK bye\r\n")
                return
            else:
                self.send(f"{tag} BAD unknown command\r\n")


class IMAPServer:
    def __init__(self, store: Mailstore):
        self.port = free_port()
        handler = type("Handler", (_Handler,), {"store": store})
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", self.port), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> IMAPServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
