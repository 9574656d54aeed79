package handshake

import (
	"context"
	"fmt"
	"net"

	"golang.org/x/net/proxy"
)

// SOCKS5 returns a Dialer that connects through the SOCKS5 proxy at
// proxyAddr ("host:port"), such as Tor's 127.0.0.1:9050, for
// Options.Dialer. Host names, ".onion" ones included, are passed to the
// proxy unresolved, so Tor resolves them and no DNS query leaks. auth may
// be nil; with Tor, distinct credentials per connection give distinct
// circuits. DialContext honours its context while connecting and while
// talking to the proxy.
func SOCKS5(proxyAddr string, auth *proxy.Auth) Dialer {
	return socksDialer{proxyAddr: proxyAddr, auth: auth}
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
