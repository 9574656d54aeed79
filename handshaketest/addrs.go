package handshaketest

import (
	"github.com/btcsuite/btcd/wire/v2"
)

// WriteAddrs sends addrs as Bitcoin Core answers a getaddr: in addrv2
// messages when the client sent sendaddrv2, else in addr messages leaving
// out what addr cannot carry, at most 1,000 addresses per message. It sends
// nothing for no addresses.
func (c *Conn) WriteAddrs(addrs []wire.NetAddressV2) error {
	for len(addrs) > 0 {
		n := min(len(addrs), wire.MaxAddrPerMsg)
		batch := addrs[:n]
		addrs = addrs[n:]
		if c.addrV2 {
			m := &wire.MsgAddrV2{AddrList: make([]*wire.NetAddressV2, n)}
			for i := range batch {
				m.AddrList[i] = &batch[i]
			}
			if err := c.WriteMessage(m); err != nil {
				return err
			}
			continue
		}
		m := &wire.MsgAddr{AddrList: make([]*wire.NetAddress, 0, n)}
		for i := range batch {
			if na := batch[i].ToLegacy(); na != nil {
				m.AddrList = append(m.AddrList, na)
			}
		}
		if len(m.AddrList) == 0 {
			continue
		}
		if err := c.WriteMessage(m); err != nil {
			return err
		}
	}
	return nil
}
