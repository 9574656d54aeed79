package handshake

import (
	"bufio"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"
)

// The SAM 3.1 protocol (https://geti2p.net/en/docs/api/samv3) is a line
// protocol: a request and its reply are one line each, words separated by
// spaces, the reply's fields KEY=VALUE. It is written here because no Go
// library for it is kept to the standard of the library's other
// dependencies; Bitcoin Core writes its own too (src/i2p.cpp), and this
// follows its requests word for word.

// samMaxLine caps a reply line: a destination is under 1 KiB in base64.
const samMaxLine = 16 << 10

// samSession is a SAM session: its control socket must stay open for the
// session to live, and a goroutine watches it close.
type samSession struct {
	id   string
	ctrl net.Conn
	dead chan struct{} // closed when the control socket closes
}

func (s *samSession) alive() bool {
	select {
	case <-s.dead:
		return false
	default:
		return true
	}
}

func (s *samSession) close() {
	s.ctrl.Close()
	<-s.dead
}

// createSession makes a transient session with Bitcoin Core's request.
func createSession(ctx context.Context, sam string) (*samSession, error) {
	id := make([]byte, 5)
	rand.Read(id)
	t, err := samHello(ctx, sam, "")
	if err != nil {
		return nil, err
	}
	// SIGNATURE_TYPE=7 is EdDSA_SHA512_Ed25519, and leaseSetEncType 4,0 the
	// encryption types, as Core asks; one tunnel each way is enough for
	// a client.
	reply, err := t.request(ctx, "SESSION CREATE STYLE=STREAM ID="+hex.EncodeToString(id)+
		" DESTINATION=TRANSIENT SIGNATURE_TYPE=7 i2cp.leaseSetEncType=4,0 inbound.quantity=1 outbound.quantity=1", "SESSION STATUS")
	if err == nil && reply["RESULT"] != "OK" {
		err = t.down("session refused", SAMResult(reply["RESULT"]))
	}
	if err != nil {
		t.conn.Close()
		return nil, err
	}
	s := &samSession{id: hex.EncodeToString(id), ctrl: t.conn, dead: make(chan struct{})}
	go func() {
		defer close(s.dead)
		io.Copy(io.Discard, t.r) // until the router or close() ends the session
	}()
	return s, nil
}

// samStream opens a stream to host, a ".b32.i2p" name, in session id.
func samStream(ctx context.Context, sam, id, addr, host string) (net.Conn, error) {
	t, err := samHello(ctx, sam, addr)
	if err != nil {
		return nil, err
	}
	c, err := t.stream(ctx, id, host)
	if err != nil {
		t.conn.Close()
		return nil, err
	}
	return c, nil
}

func (t *samTalk) stream(ctx context.Context, id, host string) (net.Conn, error) {
	reply, err := t.request(ctx, "NAMING LOOKUP NAME="+host, "NAMING REPLY")
	if err != nil {
		return nil, err
	}
	if r := reply["RESULT"]; r != "OK" || reply["VALUE"] == "" {
		return nil, t.refused(SAMResult(cmp.Or(r, "I2P_ERROR")))
	}
	reply, err = t.request(ctx, "STREAM CONNECT ID="+id+" DESTINATION="+reply["VALUE"]+" SILENT=false", "STREAM STATUS")
	if err != nil {
		return nil, err
	}
	if r := reply["RESULT"]; r != "OK" {
		return nil, t.refused(SAMResult(cmp.Or(r, "I2P_ERROR")))
	}
	// The socket now carries the stream; bytes the reader took past the
	// reply belong to it.
	return proxiedConn{bufConn{t.conn, t.r}}, nil
}

// samTalk is one socket to the SAM bridge while it speaks the protocol.
type samTalk struct {
	sam, addr string
	conn      net.Conn
	r         *bufio.Reader
	answered  bool // the bridge answered HELLO: from then on a silence is the destination's
}

// samHello connects to the bridge and agrees on SAM 3.1.
func samHello(ctx context.Context, sam, addr string) (*samTalk, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", sam)
	t := &samTalk{sam: sam, addr: addr, conn: conn}
	switch {
	case err != nil && errors.Is(ctx.Err(), context.Canceled):
		return nil, ctx.Err()
	case err != nil && ctx.Err() != nil:
		return nil, t.down("no connection within the time limit", nil)
	case err != nil:
		return nil, t.down("cannot connect", err)
	}
	t.r = bufio.NewReaderSize(conn, 1024)
	reply, err := t.request(ctx, "HELLO VERSION MIN=3.1 MAX=3.1", "HELLO REPLY")
	if err == nil && reply["RESULT"] != "OK" {
		err = t.down("SAM 3.1 refused", SAMResult(reply["RESULT"]))
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	t.answered = true
	return t, nil
}

// request sends line and reads the reply, which must start with want; it
// returns the reply's fields.
func (t *samTalk) request(ctx context.Context, line, want string) (map[string]string, error) {
	if dl, ok := ctx.Deadline(); ok {
		t.conn.SetDeadline(dl)
	}
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		t.conn.SetDeadline(time.Unix(1, 0))
		close(fired)
	})
	defer func() {
		if !stop() {
			// The callback has started: wait for it, so that it cannot
			// set its past deadline on a stream already handed over, nor
			// outlive the call.
			<-fired
		}
		t.conn.SetDeadline(time.Time{})
	}()
	_, err := io.WriteString(t.conn, line+"\n")
	var reply string
	if err == nil {
		reply, err = t.readLine()
	}
	// The connection's deadline is the context's, and may pass a moment
	// before the context says so.
	timedOut := ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded)
	switch {
	case err != nil && errors.Is(ctx.Err(), context.Canceled):
		return nil, ctx.Err()
	case err != nil && timedOut && t.answered:
		// The bridge works and is still at it: the destination is
		// slow, as any connect that times out.
		return nil, cmp.Or(ctx.Err(), context.DeadlineExceeded)
	case err != nil && timedOut:
		return nil, t.down("no answer to HELLO", nil)
	case err != nil && t.answered:
		return nil, &ProxyError{Proxy: t.sam, Addr: t.addr, Err: fmt.Errorf("%w: closed without a reply: %w", ErrProxyRefused, err)}
	case err != nil:
		return nil, t.down("hung up at HELLO", err)
	case !strings.HasPrefix(reply, want+" "):
		return nil, t.down(fmt.Sprintf("not a SAM 3.1 bridge: answered %q to %s", trimReply(reply), strings.Fields(line)[0]), nil)
	}
	fields := map[string]string{}
	for _, kv := range strings.Fields(reply[len(want):]) {
		k, v, _ := strings.Cut(kv, "=")
		fields[k] = v
	}
	return fields, nil
}

// readLine reads one line, at most samMaxLine bytes, without its "\n".
func (t *samTalk) readLine() (string, error) {
	var b []byte
	for {
		chunk, err := t.r.ReadSlice('\n')
		if len(b)+len(chunk) > samMaxLine {
			return "", fmt.Errorf("reply longer than %d bytes", samMaxLine)
		}
		b = append(b, chunk...)
		switch {
		case err == nil:
			return strings.TrimRight(string(b), "\r\n"), nil
		case !errors.Is(err, bufio.ErrBufferFull):
			return "", err
		}
	}
}

func (t *samTalk) down(why string, cause error) error {
	if cause != nil {
		return &ProxyError{Proxy: t.sam, Addr: t.addr, Err: fmt.Errorf("%w: %s: %w", ErrProxyDown, why, cause)}
	}
	return &ProxyError{Proxy: t.sam, Addr: t.addr, Err: fmt.Errorf("%w: %s", ErrProxyDown, why)}
}

func (t *samTalk) refused(r SAMResult) error {
	return &ProxyError{Proxy: t.sam, Addr: t.addr, SAM: r, Err: ErrProxyRefused}
}

// trimReply shortens a reply for an error message.
func trimReply(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// bufConn reads through r, which may hold bytes read past the last reply.
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }
