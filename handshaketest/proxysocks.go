package handshaketest

import (
	"encoding/binary"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
)

// serveSOCKS answers one SOCKS5 connection as Tor's SocksPort does with
// ExtendedErrors: it prefers user name and password when offered (Tor takes
// them for stream isolation, whatever they are), and answers a CONNECT
// after the circuit delay.
func (p *Proxy) serveSOCKS(c net.Conn) {
	var hdr [2]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil || hdr[0] != 5 {
		return
	}
	methods := make([]byte, hdr[1])
	if _, err := io.ReadFull(c, methods); err != nil {
		return
	}
	var cred Credential
	switch {
	case slices.Contains(methods, 2):
		if _, err := c.Write([]byte{5, 2}); err != nil {
			return
		}
		// RFC 1929: version 1, then user and password, each with a
		// length byte.
		var ver [1]byte
		if _, err := io.ReadFull(c, ver[:]); err != nil || ver[0] != 1 {
			return
		}
		user, ok1 := readField(c)
		pass, ok2 := readField(c)
		if !ok1 || !ok2 {
			return
		}
		cred = Credential{User: user, Password: pass}
		if _, err := c.Write([]byte{1, 0}); err != nil {
			return
		}
	case slices.Contains(methods, 0):
		if _, err := c.Write([]byte{5, 0}); err != nil {
			return
		}
	default:
		c.Write([]byte{5, 0xff})
		return
	}

	var req [4]byte
	if _, err := io.ReadFull(c, req[:]); err != nil || req[0] != 5 {
		return
	}
	var host string
	switch req[3] {
	case 1, 4: // IPv4, IPv6
		ip := make([]byte, 4)
		if req[3] == 4 {
			ip = make([]byte, 16)
		}
		if _, err := io.ReadFull(c, ip); err != nil {
			return
		}
		host = net.IP(ip).String()
	case 3:
		name, ok := readField(c)
		if !ok {
			return
		}
		host = name
	default:
		reply(c, 0x08)
		return
	}
	var port [2]byte
	if _, err := io.ReadFull(c, port[:]); err != nil {
		return
	}
	if req[1] != 1 { // CONNECT only
		reply(c, 0x07)
		return
	}
	p.mu.Lock()
	p.creds = append(p.creds, cred)
	p.mu.Unlock()

	if strings.HasSuffix(strings.ToLower(host), ".onion") && !validOnion(host) {
		reply(c, 0xF6) // Tor refuses a malformed name at once
		return
	}
	p.begin()
	r, ok := p.route(host)
	if !p.delay(r, c) {
		p.end()
		return
	}
	var code byte
	switch {
	case ok && r.Reply != 0:
		code = r.Reply
	case ok && r.Target != "":
		target := r.Target
		if _, _, err := net.SplitHostPort(target); err != nil {
			target = net.JoinHostPort(target, strconv.Itoa(int(binary.BigEndian.Uint16(port[:]))))
		}
		if p.carry(c, c, target, func() error { p.end(); return reply(c, 0) }) {
			return
		}
		code = 0x05 // the node refused: Tor says connection refused
	case strings.HasSuffix(strings.ToLower(host), ".onion"):
		code = p.cfg.Unknown
	default:
		code = 0x04
	}
	p.end()
	reply(c, code)
}

// readField reads a byte-length-prefixed string.
func readField(c io.Reader) (string, bool) {
	var n [1]byte
	if _, err := io.ReadFull(c, n[:]); err != nil {
		return "", false
	}
	b := make([]byte, n[0])
	if _, err := io.ReadFull(c, b); err != nil {
		return "", false
	}
	return string(b), true
}

// reply sends a SOCKS5 reply with code and a zero IPv4 bound address.
func reply(c io.Writer, code byte) error {
	_, err := c.Write([]byte{5, code, 0, 1, 0, 0, 0, 0, 0, 0})
	return err
}
