#!/usr/bin/env python3
"""Serves DIR over HTTP on 127.0.0.1 (a loopback stand-in for a release's download URL) and logs
each request to DIR/../requests.log. Prints the port on stdout once listening, so a caller reads
that line (`read -r port <&FD`) instead of waiting a while, then its pid on a second line (for
callers that cannot take it from `$!`). /redirect-http/NAME answers a redirect to plain
http://localhost:PORT/NAME (an installer must not follow it). Usage: serve.py DIR"""
import functools, http.server, os, sys

root = sys.argv[1]
log = open(os.path.join(os.path.dirname(os.path.abspath(root)), "requests.log"), "a", buffering=1)

class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, fmt, *args):
        log.write(f"{self.command} {self.path} {args[1] if len(args) > 1 else ''}\n")

    def do_GET(self):
        if self.path.startswith("/redirect-http/"):
            self.send_response(302)
            self.send_header("Location", f"http://localhost:{self.server.server_address[1]}/{self.path[len('/redirect-http/'):]}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=root))
print(server.server_address[1], flush=True)
print(os.getpid(), flush=True)
server.serve_forever()
