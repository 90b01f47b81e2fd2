"""A Twisted echo client for the interop test.

    twisted_echo_client.py HOST PORT INPUT OUTPUT

Sends the bytes of INPUT, half-closes, writes everything that comes back
to OUTPUT, and exits 0 if the server closed the connection cleanly, 1
otherwise (the reason on stderr)."""
import sys

from twisted.internet import error, protocol, reactor
from twisted.internet.interfaces import IHalfCloseableProtocol
from zope.interface import implementer


@implementer(IHalfCloseableProtocol)
class Client(protocol.Protocol):
    def __init__(self, payload, out):
        self.payload = payload
        self.out = out
        self.status = 1

    def connectionMade(self):
        self.transport.write(self.payload)
        self.transport.loseWriteConnection()

    def dataReceived(self, data):
        self.out.write(data)

    def readConnectionLost(self):
        self.transport.loseConnection()

    def writeConnectionLost(self):
        pass

    def connectionLost(self, reason):
        if reason.check(error.ConnectionDone):
            self.status = 0
        else:
            sys.stderr.write("connection lost: %s\n" % reason.getErrorMessage())
        reactor.stop()


class Factory(protocol.ClientFactory):
    def __init__(self, proto):
        self.proto = proto

    def buildProtocol(self, addr):
        return self.proto

    def clientConnectionFailed(self, connector, reason):
        sys.stderr.write("connection failed: %s\n" % reason.getErrorMessage())
        reactor.stop()


def main():
    host, port, infile, outfile = sys.argv[1:5]
    with open(infile, "rb") as f:
        payload = f.read()
    with open(outfile, "wb") as out:
        client = Client(payload, out)
        reactor.connectTCP(host, int(port), Factory(client), timeout=10)
        reactor.run()
    return client.status


if __name__ == "__main__":
    sys.exit(main())
