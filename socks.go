package handshake

import (
	"context"
	"fmt"
	"net"

	"golang.org/x/net/proxy"
)

// ProxyAuth holds the user name and password a SOCKS5 proxy asks for
// (RFC 1929). Each must be 1 to 255 bytes long.
type ProxyAuth struct {
	User, Password string
}

// SOCKS5 returns a Dialer that connects through the SOCKS5 proxy at
// proxyAddr ("host:port"), such as Tor's 127.0.0.1:9050, for
// Options.Dialer. Host names, ".onion" ones included, are passed to the
// proxy unresolved, so Tor resolves them and no DNS query leaks. auth may
// be nil for a proxy that asks for none; with Tor, distinct credentials
// give distinct circuits. DialContext honours its context while connecting
// and while talking to the proxy.
func SOCKS5(proxyAddr string, auth *ProxyAuth) Dialer {
	d := socksDialer{proxyAddr: proxyAddr}
	if auth != nil {
		// Copied: the caller's value may change after this call.
		d.auth = &proxy.Auth{User: auth.User, Password: auth.Password}
	}
	return d
}

type socksDialer struct {
	proxyAddr string
	auth      *proxy.Auth
}

func (d socksDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	// x/net/proxy fails only on an unknown network here; built per call
	// so the Dialer holds no state.
	pd, err := proxy.SOCKS5("tcp", d.proxyAddr, d.auth, &net.Dialer{})
	if err != nil {
		return nil, fmt.Errorf("socks5 %s: %w", d.proxyAddr, err)
	}
	c, err := pd.(proxy.ContextDialer).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return proxiedConn{c}, nil // its remote address is the proxy's
}
