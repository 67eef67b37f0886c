"""The NMOS profile's parts of the ready-to-run server that the library does not hold.

Only DNS-SD lives here: the IS-10 token rules are in
:mod:`authgate.core.oauth2.nmos`, usable without the server.
"""

from authgate.server.nmos.advertise import SERVICE_TYPE, Advertiser

__all__ = ["SERVICE_TYPE", "Advertiser"]
