"""The benchmark's Twisted peer, and the Twisted server of the reactor's
interop test (tests/reactor/interop): the same echo server as
examples/echo-server.c (echo until the client half-closes, then close once
the echo is out), on Twisted's default reactor (epoll here).

    twisted_echo_server.py     listens on 127.0.0.1, a free port, with the
                               same backlog as ours; prints
                               "listening on 127.0.0.1:PORT"; runs until
                               SIGTERM or SIGINT"""
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


port = reactor.listenTCP(0, protocol.Factory.forProtocol(Echo),
                         interface="127.0.0.1", backlog=4096)
print("listening on 127.0.0.1:%d" % port.getHost().port, flush=True)
reactor.run()
