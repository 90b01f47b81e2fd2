"""The poetry benchmark's Twisted peer: the Twisted tutorial's slow poetry
server, doing poetry-server's job on Twisted's default reactor (epoll
here).

    twisted_poetry_server.py [--delay SECONDS] [--num-bytes N]
                             [--backlog N] FILE

Listens on 127.0.0.1, a free port, with the given backlog (default 65535,
libdeferred-uv's default, rather than Twisted's 50: the benchmark gives
every server the same, and the kernel caps it at net.core.somaxconn);
prints "listening on 127.0.0.1:PORT", flushed; runs until SIGTERM or
SIGINT.

Each connection is sent the poem N bytes (default 10) at a time, the
first at once and the next every SECONDS (reactor.callLater), then closed
with loseConnection once the last is written. With --delay 0 (the
default) the poem goes at full speed, as poetry-server sends it then: the
whole poem at once, in writes of at most 16 KiB (poetry-server's
SLOW_STREAM_SLICE; one write for the benchmark's poem), N not mattering;
the transport closes once it is out."""
import argparse

from twisted.internet import protocol, reactor

FULL_SPEED_SLICE = 16384


class SlowPoetry(protocol.Protocol):
    call = None

    def connectionMade(self):
        self.sent = 0
        if self.factory.delay == 0:
            poem = self.factory.poem
            for start in range(0, len(poem), FULL_SPEED_SLICE):
                self.transport.write(poem[start:start + FULL_SPEED_SLICE])
            self.transport.loseConnection()
        else:
            self.send_chunk()

    def send_chunk(self):
        self.call = None
        poem = self.factory.poem
        chunk = poem[self.sent:self.sent + self.factory.num_bytes]
        self.sent += len(chunk)
        self.transport.write(chunk)
        if self.sent == len(poem):
            self.transport.loseConnection()
        else:
            self.call = reactor.callLater(self.factory.delay, self.send_chunk)

    def connectionLost(self, reason):
        if self.call is not None:
            self.call.cancel()
            self.call = None


class PoetryFactory(protocol.ServerFactory):
    protocol = SlowPoetry
    noisy = False  # no log line per connection, as poetry-server --quiet

    def __init__(self, poem, delay, num_bytes):
        self.poem = poem
        self.delay = delay
        self.num_bytes = num_bytes


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--num-bytes", type=int, default=10)
    parser.add_argument("--backlog", type=int, default=65535)
    parser.add_argument("file")
    args = parser.parse_args()
    if args.delay < 0 or args.num_bytes < 1 or args.backlog < 1:
        parser.error("--delay must be 0 or more, --num-bytes and --backlog 1 or more")
    with open(args.file, "rb") as f:
        poem = f.read()
    if not poem:
        parser.error("%s is empty" % args.file)
    port = reactor.listenTCP(0, PoetryFactory(poem, args.delay, args.num_bytes),
                             backlog=args.backlog, interface="127.0.0.1")
    print("listening on 127.0.0.1:%d" % port.getHost().port, flush=True)
    reactor.run()


if __name__ == "__main__":
    main()
