"""Drives the camera with third-party ONVIF and WS-Discovery clients for tests/onvif.rs.

`onvif_client.py HOST PORT` reads one JSON command per line on stdin and answers each with
one JSON line on stdout, so that the Rust test can check the camera between calls:

  {"op": "connect", "user": "admin", "password": "pw"}   user null: no UsernameToken
  {"op": "call", "service": "devicemgmt"|"media"|"ptz", "method": "GetProfiles", "params": {}}

Answers: {"ok": <result>} | {"fault": {"code", "subcodes", "message"}} | {"error": "..."}.

`onvif_client.py discover ADDRESS PORT TIMEOUT` probes with WSDiscovery (ADDRESS "-" for
multicast) and prints the services found as one JSON list.
"""

import json
import time
import sys

import zeep.exceptions
import zeep.helpers


def to_json(value):
    return json.loads(json.dumps(zeep.helpers.serialize_object(value), default=str))


def serve(host, port):
    import onvif
    from onvif import ONVIFCamera

    camera = None
    services = {}
    for line in sys.stdin:
        command = json.loads(line)
        try:
            if command["op"] == "connect":
                if command["user"] is None:
                    # No WS-Security header at all, as an anonymous client sends.
                    onvif.client.UsernameDigestTokenDtDiff.apply = (
                        lambda self, envelope, headers: (envelope, headers))
                camera = ONVIFCamera(host, port, command["user"], command["password"],
                                     no_cache=True)
                services = {
                    "devicemgmt": camera.devicemgmt,
                    "media": camera.create_media_service(),
                    "ptz": camera.create_ptz_service(),
                }
                answer = {"ok": sorted(camera.xaddrs.values())}
            else:
                service = services[command["service"]]
                method = getattr(service.ws_client, command["method"])
                answer = {"ok": to_json(method(**command.get("params", {})))}
        except zeep.exceptions.Fault as fault:
            answer = {"fault": {
                "code": str(fault.code),
                "subcodes": [str(code) for code in (fault.subcodes or [])],
                "message": fault.message,
            }}
        except Exception as error:  # noqa: BLE001 - reported to the test, which fails
            answer = {"error": f"{type(error).__name__}: {error}"}
        print(json.dumps(answer), flush=True)


def describe(services):
    return [{
        "epr": service.getEPR(),
        "types": [str(t) for t in service.getTypes()],
        "scopes": [s.getValue() for s in service.getScopes()],
        "xaddrs": list(service.getXAddrs()),
    } for service in services]


def discover(address, port, timeout):
    """Sends a Probe for NetworkVideoTransmitters to address:port and prints every match
    that answers within the timeout. The probe is built and the answers parsed with
    WSDiscovery's own message functions on a socket of ours: WSDiscovery's threaded client
    would multicast out of every interface, and tests never send to the network. A
    multicast probe therefore leaves through loopback only (IP_MULTICAST_IF 127.0.0.1,
    TTL 1), which is where a camera listening on 127.0.0.1 joins the group."""
    import ipaddress
    import socket
    from wsdiscovery import QName
    from wsdiscovery.actions import constructProbe
    from wsdiscovery.message import createSOAPMessage, parseSOAPMessage

    types = [QName("http://www.onvif.org/ver10/network/wsdl", "NetworkVideoTransmitter")]
    multicast = ipaddress.ip_address(address).is_multicast
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if multicast:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    probe = constructProbe(types, [])
    sock.sendto(createSOAPMessage(probe).encode("utf-8"), (address, port))
    deadline = time.monotonic() + timeout
    matches = []
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            data, sender = sock.recvfrom(65536)
        except socket.timeout:
            break
        answer = parseSOAPMessage(data, sender[0])
        assert answer.getRelatesTo() == probe.getMessageId(), "the match relates to the probe"
        matches.extend(describe(answer.getProbeResolveMatches()))
        if not multicast:
            break
    print(json.dumps(matches))


if __name__ == "__main__":
    if sys.argv[1] == "discover":
        discover(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    else:
        serve(sys.argv[1], int(sys.argv[2]))
