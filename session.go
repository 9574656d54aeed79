package handshake

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"time"

	"github.com/btcsuite/btcd/wire/v2"
)

// readBufferSize bounds the read buffer per connection: large enough for a
// whole pre-handshake exchange in one read, small enough for thousands of
// concurrent handshakes.
const readBufferSize = 1024

// session is the state of one handshake. It is one allocation: buffers live
// in it rather than beside it.
type session struct {
	o     Options
	ctx   context.Context
	conn  net.Conn
	addr  string
	start time.Time
	nonce uint64
	t     transport // &s.v1, or a v2 transport after the key exchange
	v1    v1Transport
	res   Result
	// left and msgsLeft are what remains of the pre-handshake budget.
	left, msgsLeft int
	// rawCount: the byte counts in res come from counting the socket (v2),
	// not from adding up messages (v1).
	rawCount bool

	// A write in flight in the background (see flush).
	writing   bool
	writeStep Step
	written   int
	writeErr  error
	writeDone chan struct{}

	fbuf  []byte    // our feature payloads, copied as they are queued
	wbufs [256]byte // backs t.wbuf: our version fits

	// Parts of the handshake that would each be an allocation of their
	// own beside the session.
	m       message         // the message being read
	version wire.MsgVersion // ours
	br      bufio.Reader    // v1's reader, or v2's over a connection not a socket
	v2      v2Transport
	cr      countingReader
	cw      countingWriter
	watch   sync.WaitGroup // the cancellation callback, while it runs
}

// run handshakes over conn. ctx is the caller's context, watched for
// cancellation; bounded is ctx with Options.Timeout applied, whose deadline
// becomes the connection's. On success the session is returned, its
// transport ready for the messages that follow; on failure it is nil.
func run(ctx, bounded context.Context, conn net.Conn, addr string, o *Options, start time.Time, connect time.Duration, t Transport) (*session, *Result, error) {
	if dl, ok := bounded.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	s := &session{
		o:        *o,
		ctx:      bounded,
		conn:     conn,
		addr:     addr,
		start:    start,
		nonce:    nonZeroNonce(),
		left:     o.MaxBytes,
		msgsLeft: o.MaxMessages,
		res: Result{
			Addr:      addr,
			Transport: t,
			Received:  make([]string, 0, 8),
		},
	}
	// Cancellation moves the deadline into the past, which unblocks any
	// read or write at once. A context that cannot be cancelled, such as
	// context.Background, needs no watcher: the deadline covers it.
	if ctx.Done() != nil {
		s.watch.Add(1)
		stop := context.AfterFunc(ctx, func() {
			defer s.watch.Done()
			conn.SetDeadline(time.Unix(1, 0))
		})
		defer func() {
			// Wait for the callback if it already started, so that
			// no goroutine of ours outlives the call.
			if stop() {
				s.watch.Done()
			}
			s.watch.Wait()
		}()
	}
	s.res.Timings.Connect = connect
	if t == TransportV2 {
		s.setVersion()
		if err := s.keyExchange(&s.version); err != nil {
			return nil, &s.res, failed(&s.res, StepKeyExchange, classify(ctx, bounded, err), start)
		}
	} else {
		// A copy of the new reader, so that only its buffer is an
		// allocation of its own.
		s.br = *bufio.NewReaderSize(conn, readBufferSize)
		s.v1 = v1Transport{r: &s.br, w: conn, magic: o.ChainParams.Net, wbuf: s.wbufs[:0]}
		s.t = &s.v1
	}
	step, err := s.exchange()
	if werr := s.finishWrite(err != nil); werr != nil && !classified(err) {
		// A failed write explains the I/O error the read saw next; a
		// verdict already reached on the peer's own bytes stands.
		step, err = s.writeStep, werr
	}
	if err != nil {
		return nil, &s.res, failed(&s.res, step, classify(ctx, bounded, err), start)
	}
	s.res.Timings.Total = time.Since(start)
	return s, &s.res, nil
}

// exchange runs the protocol: our version first, then messages from the peer
// until its verack, answering its version with our feature messages and
// verack as Bitcoin Core does. What Core ignores is recorded in
// Result.Ignored and skipped, and still counts against the budgets.
func (s *session) exchange() (Step, error) {
	if s.res.Transport == TransportV1 {
		// (On v2 our version went out with the key exchange.)
		s.setVersion()
		s.log("sent", wire.CmdVersion, s.t.queueVersion(&s.version))
		if err := s.flush(StepSendVersion); err != nil {
			return StepSendVersion, err
		}
	}
	gotVersion := false
	negotiationFrom := 0
	m := &s.m
	for {
		step := StepReadVersion
		if gotVersion {
			step = StepReadVerack
		}
		if s.msgsLeft == 0 {
			return step, fmt.Errorf("%w: %d messages without a completed handshake", ErrLimitExceeded, s.o.MaxMessages)
		}
		err := s.t.readMessage(s.left, m)
		s.left -= m.n
		if !s.rawCount {
			s.res.BytesReceived += int64(m.n)
		}
		if err != nil {
			return step, err
		}
		s.msgsLeft--
		s.res.Received = append(s.res.Received, m.cmd)
		s.log("received", m.cmd, m.n)
		if gotVersion && (m.cmd != wire.CmdVerAck || m.drop != "") {
			// A full slice expression, so that later appends to
			// Received can never write through Negotiation.
			end := len(s.res.Received)
			s.res.Negotiation = s.res.Received[negotiationFrom:end:end]
		}
		switch {
		case m.drop != "":
			s.ignore(m.cmd, m.drop)
		case !gotVersion && m.cmd != wire.CmdVersion:
			// ProcessMessage: "non-version message before version
			// handshake".
			s.ignore(m.cmd, "before version")
		case !gotVersion:
			ok, err := s.acceptVersion(m.payload)
			if err != nil {
				return step, err
			}
			if !ok {
				continue
			}
			gotVersion = true
			negotiationFrom = len(s.res.Received)
			s.res.Negotiation = s.res.Received[negotiationFrom:negotiationFrom:negotiationFrom]
			if step, err := s.sendVerack(); err != nil {
				return step, err
			}
		case m.cmd == wire.CmdVerAck:
			s.res.Timings.PeerVerack = time.Since(s.start)
			if err := s.finishWrite(false); err != nil {
				return StepSendVerack, err
			}
			s.res.Status = StatusOK
			return step, nil
		default:
			if err := s.negotiate(m); err != nil {
				return step, err
			}
		}
	}
}

// negotiate judges a message between the peer's version and its verack as
// Bitcoin Core's ProcessMessage does: feature negotiation is taken, a
// second version and anything Core does not support before verack are
// ignored, and a feature message is judged by takeFeature.
func (s *session) negotiate(m *message) error {
	switch m.cmd {
	case wire.CmdVersion:
		s.ignore(m.cmd, "redundant version")
	case CmdFeature:
		return s.takeFeature(m)
	case wire.CmdWTxIdRelay:
		if s.res.NegotiatedVersion < wire.AddrV2Version {
			s.ignore(m.cmd, "wtxidrelay at a common version below 70016")
		}
	case wire.CmdSendAddrV2, "sendtxrcncl", wire.CmdSendHeaders, "sendcmpct":
		// Taken by Core before verack (sendtxrcncl is then ignored by a
		// node without -txreconciliation, for its own reasons).
	default:
		s.ignore(m.cmd, "unsupported before verack")
	}
	return nil
}

// ignore records a message the exchange skipped and why.
func (s *session) ignore(cmd, reason string) {
	s.res.Ignored = append(s.res.Ignored, Ignored{Command: cmd, Reason: reason})
}

// setVersion sets s.version to the version message we send.
func (s *session) setVersion() {
	s.version = wire.MsgVersion{
		ProtocolVersion: int32(s.o.ProtocolVersion),
		Services:        s.o.Services,
		Timestamp:       time.Unix(time.Now().Unix(), 0),
		Nonce:           s.nonce,
		UserAgent:       s.o.UserAgent,
		LastBlock:       s.o.StartHeight,
		DisableRelayTx:  !s.o.Relay,
		// Like Bitcoin Core, we report the peer's address as we see it
		// when it is routable and direct (addrYou), and say nothing
		// about our own.
		AddrMe: wire.NetAddress{IP: net.IPv6zero, Services: s.o.Services},
	}
	s.version.AddrYou.IP, s.version.AddrYou.Port = addrYou(s.conn)
}

// sendVerack announces our features, when the negotiated version has them
// (wtxidrelay and sendaddrv2 from 70016, Options.Features from 70017), and
// acknowledges the peer's version, in a single write.
func (s *session) sendVerack() (Step, error) {
	// The peer has answered our version, so that write is done or failed.
	if err := s.finishWrite(false); err != nil {
		return StepSendVersion, err
	}
	if s.res.NegotiatedVersion >= wire.AddrV2Version {
		s.send(wire.CmdWTxIdRelay, nil)
		s.send(wire.CmdSendAddrV2, nil)
	}
	if s.res.NegotiatedVersion >= FeatureVersion {
		// One buffer, each payload its own part of it: the v2
		// transport keeps the slices until the write.
		s.fbuf = s.fbuf[:0]
		for i := range s.o.Features {
			at := len(s.fbuf)
			s.fbuf = appendFeature(s.fbuf, &s.o.Features[i])
			s.send(CmdFeature, s.fbuf[at:])
		}
	}
	s.send(wire.CmdVerAck, nil)
	return StepSendVerack, s.flush(StepSendVerack)
}

// send queues one message with an empty or given payload for the next flush.
func (s *session) send(cmd string, payload []byte) {
	s.log("sent", cmd, s.t.queue(cmd, payload))
}

// flush writes the buffered messages. A write to a TCP socket this small
// completes at once into the kernel's buffer; any other connection, such as
// a synchronous net.Pipe, is written in the background while we go on
// reading, since a peer may write before it reads and a blocking write would
// then deadlock with it. A failed background write moves the deadline into
// the past so that the read in progress stops too.
func (s *session) flush(step Step) error {
	if _, ok := s.conn.(*net.TCPConn); ok {
		n, err := s.t.write()
		s.countSent(n)
		return err
	}
	if s.writeDone == nil {
		s.writeDone = make(chan struct{}, 1)
	}
	s.writing, s.writeStep = true, step
	go func() {
		s.written, s.writeErr = s.t.write()
		if s.writeErr != nil {
			s.conn.SetDeadline(time.Unix(1, 0))
		}
		s.writeDone <- struct{}{}
	}()
	return nil
}

// finishWrite waits for the background write, if any, and returns its error.
// With abort set it first unblocks the write, which the exchange no longer
// needs.
func (s *session) finishWrite(abort bool) error {
	if !s.writing {
		return nil
	}
	if abort {
		s.conn.SetDeadline(time.Unix(1, 0))
	}
	<-s.writeDone
	s.writing = false
	s.countSent(s.written)
	if abort && errors.Is(s.writeErr, os.ErrDeadlineExceeded) {
		return nil // we stopped it; the error that made us stop counts
	}
	return s.writeErr
}

func (s *session) countSent(n int) {
	if !s.rawCount {
		s.res.BytesSent += int64(n)
	}
}

// acceptVersion decodes and checks the peer's version in Bitcoin Core's
// order. A version too old is refused before the rest is decoded; a version
// that cannot be decoded is ignored (ok false), as Core's exception handler
// drops it, and the exchange waits for a valid one until its time limit.
func (s *session) acceptVersion(payload []byte) (ok bool, err error) {
	var v PeerVersion
	rest, err := parseVersionHead(payload, &v)
	if err != nil {
		s.ignore(wire.CmdVersion, err.Error())
		return false, nil
	}
	// Core reads the version as an int32: past 1<<31-1 it is negative.
	if int32(v.ProtocolVersion) < 0 || v.ProtocolVersion < s.o.MinPeerVersion {
		// Core refuses it on these fields alone; the rest, if it
		// decodes, is still worth reporting.
		if parseVersionTail(rest, &v) != nil {
			parseVersionHead(payload, &v)
		}
		s.gotVersion(&v)
		return false, fmt.Errorf("%w: %d, the minimum is %d", ErrPeerTooOld, int32(v.ProtocolVersion), s.o.MinPeerVersion)
	}
	if err := parseVersionTail(rest, &v); err != nil {
		s.ignore(wire.CmdVersion, err.Error())
		return false, nil
	}
	s.gotVersion(&v)
	if v.Nonce == s.nonce {
		return false, ErrSelfConnection
	}
	s.res.NegotiatedVersion = min(v.ProtocolVersion, s.o.ProtocolVersion)
	return true, nil
}

// gotVersion records the peer's version in the Result.
func (s *session) gotVersion(v *PeerVersion) {
	s.res.Status = StatusPartiallyOK
	s.res.Timings.PeerVersion = time.Since(s.start)
	s.res.Peer = *v
}

func (s *session) log(what, cmd string, n int) {
	if s.o.Logger == nil {
		return
	}
	s.o.Logger.LogAttrs(s.ctx, slog.LevelDebug, what,
		slog.String("addr", s.addr), slog.String("command", cmd), slog.Int("bytes", n))
}

// nonZeroNonce returns a random nonce; zero is avoided because some peers
// send it to mean "no nonce", which must never look like a self-connection.
func nonZeroNonce() uint64 {
	for {
		if n := rand.Uint64(); n != 0 {
			return n
		}
	}
}
