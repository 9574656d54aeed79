package handshaketest

import (
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// TestHanging: a connect to a Hanging address waits until its own time
// limit, again and again, and a refused one does not.
func TestHanging(t *testing.T) {
	t.Parallel()
	h, err := NewHanging("127.9.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	for range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", h.Addr())
		cancel()
		if err == nil {
			c.Close()
			t.Fatal("connect to a hanging address succeeded")
		}
		// The dialer turns the context's deadline into the socket's, so
		// either may be the one that fires first on a busy machine.
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("connect: %v, want the deadline", err)
		}
	}
	for _, bad := range []string{"nope", "127.9.0.1", "10.0.0.1:0", "[::1]:0"} {
		if h, err := NewHanging(bad); err == nil {
			h.Close()
			t.Errorf("NewHanging(%q) accepted", bad)
		}
	}
}
