"""Fetches and parses a UPnP device description as a control point does, with
async-upnp-client (strict mode: a malformed description is an error), and prints what it
understood as one JSON object. Used by tests/upnp.rs.

usage: upnp_describe.py LOCATION
"""

import asyncio
import json
import sys

from async_upnp_client.aiohttp import AiohttpRequester
from async_upnp_client.client_factory import UpnpFactory


async def describe(location: str) -> dict:
    factory = UpnpFactory(AiohttpRequester(timeout=5), non_strict=False)
    device = await factory.async_create_device(location)
    return {
        "device_type": device.device_type,
        "friendly_name": device.friendly_name,
        "manufacturer": device.manufacturer,
        "model_name": device.model_name,
        "udn": device.udn,
        "presentation_url": device.presentation_url,
        "serial_number": device.serial_number,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(describe(sys.argv[1]))))
