package handshake_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

// replayPeer answers every connection with pre-serialized bytes in Bitcoin
// Core's order, parsing headers only, so that it costs both benchmarks the
// same and as little as possible.
type replayPeer struct {
	ln     net.Listener
	answer []byte
}

func mustFrame(msgs ...wire.Message) []byte {
	var b bytes.Buffer
	for _, m := range msgs {
		if err := wire.WriteMessage(&b, m, wire.ProtocolVersion, wire.MainNet); err != nil {
			panic(err)
		}
	}
	return b.Bytes()
}

// replayAnswer is Bitcoin Core's answer to a version: version, wtxidrelay,
// sendaddrv2, sendtxrcncl, verack.
func replayAnswer() []byte {
	v := wire.NewMsgVersion(wire.NewNetAddressIPPort(net.IPv4zero, 0, 0), wire.NewNetAddressIPPort(net.IPv4zero, 0, 0), 1, 870000)
	v.UserAgent = "/Satoshi:27.1.0/"
	v.Services = wire.SFNodeNetwork | wire.SFNodeWitness
	answer := append(mustFrame(v, &wire.MsgWTxIdRelay{}, &wire.MsgSendAddrV2{}), handshaketest.Frame(wire.MainNet, "sendtxrcncl", make([]byte, 12))...)
	return append(answer, mustFrame(&wire.MsgVerAck{})...)
}

// runReplayPeer serves as the replay peer in a child process, so that the
// benchmarks count the client's allocations alone. It prints its address and
// stops when its standard input closes.
func runReplayPeer() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	p := &replayPeer{ln: ln, answer: replayAnswer()}
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	fmt.Println(ln.Addr())
	for {
		c, err := ln.Accept()
		if err != nil {
			os.Exit(1)
		}
		go p.serve(c)
	}
}

// startReplayPeer starts the replay peer process and returns its address.
func startReplayPeer(b *testing.B) string {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), replayPeerEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("replay peer: %v", err)
	}
	return strings.TrimSpace(line)
}

// serve answers the client's version, then reads until its verack.
func (p *replayPeer) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	var hdr [24]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return
		}
		if _, err := r.Discard(int(binary.LittleEndian.Uint32(hdr[16:20]))); err != nil {
			return
		}
		switch string(bytes.TrimRight(hdr[4:16], "\x00")) {
		case "version":
			c.Write(p.answer)
		case "verack":
			return
		}
	}
}

// BenchmarkDial is a whole Dial against the replay peer: TCP
// connect, our version, the peer's five messages, our verack.
func BenchmarkDial(b *testing.B) {
	addr := startReplayPeer(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		res, err := handshake.Dial(ctx, addr, handshake.Options{Transport: handshake.TransportV1})
		if err != nil || res.Status != handshake.StatusOK {
			b.Fatal(res.Status, err)
		}
	}
}

// BenchmarkFloor is the same exchange with nothing but pre-serialized bytes
// and header-only parsing: the least any client can do over TCP.
func BenchmarkFloor(b *testing.B) {
	addr := startReplayPeer(b)
	v := wire.NewMsgVersion(wire.NewNetAddressIPPort(net.IPv4zero, 0, 0), wire.NewNetAddressIPPort(net.IPv4zero, 0, 0), 2, 0)
	version := mustFrame(v)
	verack := mustFrame(&wire.MsgWTxIdRelay{}, &wire.MsgSendAddrV2{}, &wire.MsgVerAck{})
	var d net.Dialer
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write(version); err != nil {
			b.Fatal(err)
		}
		var buf [1024]byte
		var hdr [24]byte
		r := bufio.NewReaderSize(c, len(buf))
	read:
		for {
			if _, err := io.ReadFull(r, hdr[:]); err != nil {
				b.Fatal(err)
			}
			if _, err := r.Discard(int(binary.LittleEndian.Uint32(hdr[16:20]))); err != nil {
				b.Fatal(err)
			}
			switch string(bytes.TrimRight(hdr[4:16], "\x00")) {
			case "version":
				if _, err := c.Write(verack); err != nil {
					b.Fatal(err)
				}
			case "verack":
				break read
			}
		}
		c.Close()
	}
}
