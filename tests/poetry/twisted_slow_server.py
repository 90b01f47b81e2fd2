"""A slow poetry server in Twisted, as the tutorial's: to each client, the
poem NUM_BYTES at a time every DELAY seconds, then a clean close. The
interop test downloads from it with our get-poetry.

    twisted_slow_server.py [--num-bytes N] [--delay SECONDS] POETRY_FILE

Listens on 127.0.0.1, on a free port; the first line of output is
"listening on 127.0.0.1:PORT", flushed. Runs until SIGTERM or SIGINT."""
import argparse

from twisted.internet import protocol, reactor, task


class SlowPoetryProtocol(protocol.Protocol):
    def connectionMade(self):
        self.sent = 0
        self.loop = task.LoopingCall(self.send_chunk)
        self.loop.start(self.factory.delay, now=True)

    def send_chunk(self):
        poem, n = self.factory.poem, self.factory.num_bytes
        chunk = poem[self.sent:self.sent + n]
        self.sent += len(chunk)
        if chunk:
            self.transport.write(chunk)
        if self.sent >= len(poem):
            self.loop.stop()
            self.transport.loseConnection()

    def connectionLost(self, reason):
        if self.loop.running:
            self.loop.stop()


class SlowPoetryFactory(protocol.ServerFactory):
    protocol = SlowPoetryProtocol

    def __init__(self, poem, num_bytes, delay):
        self.poem, self.num_bytes, self.delay = poem, num_bytes, delay


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--num-bytes", type=int, default=10)
    parser.add_argument("--delay", type=float, default=0.7)
    parser.add_argument("poetry_file")
    args = parser.parse_args()
    with open(args.poetry_file, "rb") as f:
        poem = f.read()
    port = reactor.listenTCP(0, SlowPoetryFactory(poem, args.num_bytes, args.delay),
                             interface="127.0.0.1")
    print("listening on 127.0.0.1:%d" % port.getHost().port, flush=True)
    reactor.run()


if __name__ == "__main__":
    main()
