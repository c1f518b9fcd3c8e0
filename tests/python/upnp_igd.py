"""A router's UPnP side on 127.0.0.1 for tests/upnp.rs: an InternetGatewayDevice:1 with
WANIPConnection:1, served by async-upnp-client's UPnP server (its SSDP responder and
announcer, description and SCPD documents, SOAP parsing and answers). Only the action
bodies are here: mappings are kept in a table, and every call is printed as one JSON line
on stdout, after a first line {"location": ...}. No firewall is touched.

usage: upnp_igd.py EXTERNAL_IP [REFUSED_PORT]
  REFUSED_PORT: AddPortMapping of this external port fails with 718
  ConflictInMappingEntry, as when another host holds it.
"""

import asyncio
import json
import socket
import sys
import xml.etree.ElementTree as ET

from async_upnp_client.const import DeviceInfo, ServiceInfo
from async_upnp_client.exceptions import UpnpActionError
from async_upnp_client.server import (
    UpnpServer,
    UpnpServerDevice,
    UpnpServerService,
    callable_action,
    create_state_var,
)

EXTERNAL_IP = sys.argv[1] if len(sys.argv) > 1 else "203.0.113.7"
REFUSED_PORT = int(sys.argv[2]) if len(sys.argv) > 2 else None
MAPPINGS = {}


def report(event: dict) -> None:
    print(json.dumps(event), flush=True)


class WanIpConnection(UpnpServerService):
    SERVICE_DEFINITION = ServiceInfo(
        service_id="urn:upnp-org:serviceId:WANIPConn1",
        service_type="urn:schemas-upnp-org:service:WANIPConnection:1",
        control_url="/upnp/control/WANIPConn1",
        event_sub_url="/upnp/event/WANIPConn1",
        scpd_url="/WANIPConn1.xml",
        xml=ET.Element("server_service"),
    )
    STATE_VARIABLE_DEFINITIONS = {
        "ExternalIPAddress": create_state_var("string"),
        "RemoteHost": create_state_var("string"),
        "ExternalPort": create_state_var("ui2"),
        "PortMappingProtocol": create_state_var("string", allowed=["TCP", "UDP"]),
        "InternalPort": create_state_var("ui2"),
        "InternalClient": create_state_var("string"),
        "PortMappingEnabled": create_state_var("boolean"),
        "PortMappingDescription": create_state_var("string"),
        "PortMappingLeaseDuration": create_state_var("ui4"),
    }

    @callable_action(
        name="GetExternalIPAddress",
        in_args={},
        out_args={"NewExternalIPAddress": "ExternalIPAddress"},
    )
    async def get_external_ip_address(self) -> dict:
        report({"action": "GetExternalIPAddress"})
        return {"NewExternalIPAddress": EXTERNAL_IP}

    @callable_action(
        name="AddPortMapping",
        in_args={
            "NewRemoteHost": "RemoteHost",
            "NewExternalPort": "ExternalPort",
            "NewProtocol": "PortMappingProtocol",
            "NewInternalPort": "InternalPort",
            "NewInternalClient": "InternalClient",
            "NewEnabled": "PortMappingEnabled",
            "NewPortMappingDescription": "PortMappingDescription",
            "NewLeaseDuration": "PortMappingLeaseDuration",
        },
        out_args={},
    )
    async def add_port_mapping(
        self,
        NewRemoteHost: str,
        NewExternalPort: int,
        NewProtocol: str,
        NewInternalPort: int,
        NewInternalClient: str,
        NewEnabled: bool,
        NewPortMappingDescription: str,
        NewLeaseDuration: int,
    ) -> dict:
        args = dict(locals())
        del args["self"]
        refused = NewExternalPort == REFUSED_PORT
        report({"action": "AddPortMapping", "refused": refused, **args})
        if refused:
            raise UpnpActionError(error_code=718, error_desc="ConflictInMappingEntry")
        MAPPINGS[(NewProtocol, NewExternalPort)] = args
        return {}

    @callable_action(
        name="DeletePortMapping",
        in_args={
            "NewRemoteHost": "RemoteHost",
            "NewExternalPort": "ExternalPort",
            "NewProtocol": "PortMappingProtocol",
        },
        out_args={},
    )
    async def delete_port_mapping(
        self, NewRemoteHost: str, NewExternalPort: int, NewProtocol: str
    ) -> dict:
        report(
            {
                "action": "DeletePortMapping",
                "NewExternalPort": NewExternalPort,
                "NewProtocol": NewProtocol,
            }
        )
        if MAPPINGS.pop((NewProtocol, NewExternalPort), None) is None:
            # UPnP IGD's NoSuchEntryInArray.
            raise UpnpActionError(error_code=714, error_desc="NoSuchEntryInArray")
        return {}


class WanConnectionDevice(UpnpServerDevice):
    DEVICE_DEFINITION = DeviceInfo(
        device_type="urn:schemas-upnp-org:device:WANConnectionDevice:1",
        friendly_name="WANConnectionDevice",
        manufacturer="test",
        manufacturer_url=None,
        model_name="test",
        model_description=None,
        model_number=None,
        model_url=None,
        serial_number=None,
        udn="uuid:9b4a7c6e-3c1b-4e7e-9a0f-000000000003",
        upc=None,
        presentation_url=None,
        url="/device3.xml",
        icons=[],
        xml=ET.Element("server_device"),
    )
    EMBEDDED_DEVICES = []
    SERVICES = [WanIpConnection]


class WanDevice(UpnpServerDevice):
    DEVICE_DEFINITION = WanConnectionDevice.DEVICE_DEFINITION._replace(
        device_type="urn:schemas-upnp-org:device:WANDevice:1",
        friendly_name="WANDevice",
        udn="uuid:9b4a7c6e-3c1b-4e7e-9a0f-000000000002",
        url="/device2.xml",
    )
    EMBEDDED_DEVICES = [WanConnectionDevice]
    SERVICES = []


class Gateway(UpnpServerDevice):
    DEVICE_DEFINITION = WanConnectionDevice.DEVICE_DEFINITION._replace(
        device_type="urn:schemas-upnp-org:device:InternetGatewayDevice:1",
        friendly_name="Test gateway",
        udn="uuid:9b4a7c6e-3c1b-4e7e-9a0f-000000000001",
        url="/rootDesc.xml",
    )
    EMBEDDED_DEVICES = [WanDevice]
    SERVICES = []


async def main() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = UpnpServer(Gateway, ("127.0.0.1", 0), http_port=port)
    await server.async_start()
    report({"location": f"http://127.0.0.1:{port}{Gateway.DEVICE_DEFINITION.url}"})
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
