"""The tutorial's poetry client in Twisted (a deferred per download, a
DeferredList to end): downloads from every port at once and writes each
poem, byte for byte, to OUT_DIR/N (N the address's position, from 1).

    twisted_get_poetry.py OUT_DIR PORT...

Exits 0 if every poem came (its server closed cleanly), 1 otherwise,
with a line per failure on stderr."""
import os
import sys

from twisted.internet import defer, protocol, reactor


class PoetryProtocol(protocol.Protocol):
    poem = b""

    def dataReceived(self, data):
        self.poem += data

    def connectionLost(self, reason):
        self.factory.poem_finished(self.poem, reason)


class PoetryClientFactory(protocol.ClientFactory):
    protocol = PoetryProtocol

    def __init__(self, deferred):
        self.deferred = deferred

    def poem_finished(self, poem, reason):
        from twisted.internet.error import ConnectionDone
        d, self.deferred = self.deferred, None
        if reason.check(ConnectionDone):
            d.callback(poem)
        else:
            d.errback(reason)

    def clientConnectionFailed(self, connector, reason):
        if self.deferred is not None:
            d, self.deferred = self.deferred, None
            d.errback(reason)


def get_poetry(host, port):
    d = defer.Deferred()
    reactor.connectTCP(host, port, PoetryClientFactory(d), timeout=10)
    return d


def main(out_dir, ports):
    failed = []

    def save(poem, n):
        with open(os.path.join(out_dir, str(n)), "wb") as f:
            f.write(poem)

    def poem_failed(err, n):
        failed.append(n)
        print("poem %d failed: %s" % (n, err.getErrorMessage()), file=sys.stderr)

    ds = []
    for n, port in enumerate(ports, 1):
        d = get_poetry("127.0.0.1", port)
        d.addCallbacks(save, poem_failed, callbackArgs=(n,), errbackArgs=(n,))
        ds.append(d)
    done = defer.DeferredList(ds)
    done.addCallback(lambda _: reactor.stop())
    reactor.run()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], [int(p) for p in sys.argv[2:]]))
