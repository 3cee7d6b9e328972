"""Frame builders: the bytes of each protocol the decoders read, one module per decoder in
cpp/include/flapwatch/decode/ (dpkt-style), for the simulator, the tests, the benchmark
generator and the capture script. Pure functions of their arguments; standard library only
(no compiled extension), so they run wherever a frame has to be written.

- ``ethernet``:    MAC helpers, VLAN tags, Ethernet II, SLL/SLL2; RoCEv2 and ARP traffic
- ``mac_control``: 802.1Qbb PFC and 802.3x PAUSE payloads and frames
- ``lldp``:        every TLV, LLDPDUs and frames, ``lldpd_frame`` (lldpd's layout by keyword)
- ``netlink``:     nlmsg, rtattr, ifinfomsg, link messages, dump-done, nlmon's cooked header

Every public name is also here (``from flapwatch import wire; wire.pfc_frame(...)``).
Containers are elsewhere: pcapng through flapwatch.sources.pcapng.PcapngWriter, nlmon pcap
files through flapwatch.sources.nlrecord.
"""

from flapwatch.wire.ethernet import (
    BROADCAST, ETH_ARP, ETH_IPV4, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, MIN_FRAME, TPID_8021AD, TPID_8021Q,
    TPID_QINQ_OLD, arp_request, ethernet_frame, mac_bytes, mac_int, mac_text, roce_frame, sll, sll2, vlan_tag)
from flapwatch.wire.lldp import (
    CAP_BRIDGE, CAP_ROUTER, CAP_STATION, ETH_LLDP, LLDP_DST, OUI_8021, OUI_8023, capabilities, chassis_id, end_tlv,
    lldp_frame, lldpd_frame, lldpdu, mac_phy, max_frame_size, mgmt_addr, org_tlv, pfc_config, port_desc, port_id,
    port_vlan, system_desc, system_name, tlv, ttl)
from flapwatch.wire.mac_control import (
    ETH_MAC_CONTROL, MAC_CONTROL_DST, MIN_PAYLOAD, OP_PAUSE, OP_PFC, mac_control_pdu, pause, pause_frame, pfc,
    pfc_frame)
from flapwatch.wire.netlink import (
    ARPHRD_ETHER, ARPHRD_LOOPBACK, IFF_BROADCAST, IFF_LOOPBACK, IFF_LOWER_UP, IFF_MULTICAST, IFF_PROMISC,
    IFF_RUNNING, IFF_UP, IFLA_ADDRESS, IFLA_CARRIER, IFLA_CARRIER_CHANGES, IFLA_CARRIER_DOWN_COUNT,
    IFLA_CARRIER_UP_COUNT, IFLA_IFNAME, IFLA_MTU, IFLA_OPERSTATE, LINKTYPE_NETLINK, NETLINK_GENERIC, NETLINK_ROUTE,
    NLM_F_MULTI, NLMSG_DONE, OPER_DOWN, OPER_UNKNOWN, OPER_UP, RTM_DELLINK, RTM_NEWADDR, RTM_NEWLINK, done_msg,
    ifinfomsg, link_msg, newlink_msg, nlmon_frame, nlmsg, rtattr)
