"""A Twisted echo server for the interop test: echoes each connection
until the client half-closes, then closes once the echo is sent.

    twisted_echo_server.py        listens on 127.0.0.1, a free port

The first line of output is "listening on 127.0.0.1:PORT", flushed.
Runs until SIGTERM or SIGINT."""
import sys

from twisted.internet import protocol, reactor
from twisted.internet.interfaces import IHalfCloseableProtocol
from zope.interface import implementer


@implementer(IHalfCloseableProtocol)
class Echo(protocol.Protocol):
    def dataReceived(self, data):
        self.transport.write(data)

    def readConnectionLost(self):
        self.transport.loseConnection()

    def writeConnectionLost(self):
        pass


def main():
    port = reactor.listenTCP(0, protocol.Factory.forProtocol(Echo),
                             interface="127.0.0.1")
    print("listening on 127.0.0.1:%d" % port.getHost().port, flush=True)
    reactor.run()


if __name__ == "__main__":
    sys.exit(main())
