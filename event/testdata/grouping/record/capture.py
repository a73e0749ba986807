"""A Sentry envelope sink for recording the grouping corpus.

python3 capture.py PORT OUTDIR [LABEL]: every event item posted to
http://127.0.0.1:PORT/api/<project>/envelope/ (or /store/) is written to
OUTDIR/<label>.json, <label> being the event's "label" tag, else LABEL
(events without either are skipped). The tag is removed: it only names
the fixture.
"""
import gzip, json, os, sys, zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

out = sys.argv[2]


def save(ev):
    label = (ev.get("tags") or {}).pop("label", None)
    if isinstance(ev.get("tags"), list):  # some SDKs send pairs
        pairs = [p for p in ev["tags"] if p[0] != "label"]
        label = next((p[1] for p in ev["tags"] if p[0] == "label"), None)
        ev["tags"] = pairs
    if not label and len(sys.argv) > 3:
        label = sys.argv[3]
    if not label:
        return
    with open(os.path.join(out, label + ".json"), "w") as f:
        json.dump(ev, f, indent=1, sort_keys=True)
        f.write("\n")
    print("saved", label, flush=True)


class H(BaseHTTPRequestHandler):
    def cors(self):
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Headers", "*")
        self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")

    def do_OPTIONS(self):
        self.send_response(200)
        self.cors()
        self.end_headers()

    def do_POST(self):
        if self.headers.get("Transfer-Encoding", "") == "chunked":
            body = b""
            while True:
                n = int(self.rfile.readline().strip(), 16)
                chunk = self.rfile.read(n)
                self.rfile.readline()
                if n == 0:
                    break
                body += chunk
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        enc = self.headers.get("Content-Encoding", "")
        if enc == "gzip":
            body = gzip.decompress(body)
        elif enc == "deflate":
            body = zlib.decompress(body)
        if self.path.rstrip("/").endswith("/store"):
            save(json.loads(body))
        else:
            lines = body.split(b"\n")
            i = 1
            while i < len(lines):
                if not lines[i].strip():
                    i += 1
                    continue
                hdr = json.loads(lines[i])
                i += 1
                if "length" in hdr:
                    rest = b"\n".join(lines[i:])
                    payload, rest = rest[: hdr["length"]], rest[hdr["length"] + 1 :]
                    lines = [b""] + rest.split(b"\n")
                    i = 1
                else:
                    payload = lines[i]
                    i += 1
                if hdr.get("type") == "event":
                    save(json.loads(payload))
        self.send_response(200)
        self.cors()
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"id":"00000000000000000000000000000000"}')

    def log_message(self, *a):
        pass


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
