package handshaketest

import (
	"bufio"
	"cmp"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"strings"
)

// i2pBase64 is the base64 I2P writes destinations in: "-" and "~" for
// "+" and "/".
var i2pBase64 = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-~")

// fakeDest is the destination the SAM side gives name in a NAMING LOOKUP:
// not a real one, but it names name back in STREAM CONNECT.
func fakeDest(name string) string {
	return i2pBase64.EncodeToString([]byte("handshaketest destination " + strings.ToLower(name)))
}

// destName recovers the name from a fakeDest.
func destName(dest string) (string, bool) {
	b, err := i2pBase64.DecodeString(dest)
	if err != nil {
		return "", false
	}
	return strings.CutPrefix(string(b), "handshaketest destination ")
}

// serveSAM answers one connection to the SAM bridge as an I2P router does
// for the requests Bitcoin Core makes: HELLO, then either SESSION CREATE
// (the connection then holds the session until it closes) or NAMING
// LOOKUP and STREAM CONNECT (the connection then carries the stream).
func (p *Proxy) serveSAM(c net.Conn) {
	r := bufio.NewReader(c)
	line := func() (string, bool) {
		s, err := r.ReadString('\n')
		if err != nil || len(s) > 16<<10 {
			return "", false
		}
		return strings.TrimRight(s, "\r\n"), true
	}
	say := func(format string, args ...any) bool {
		_, err := fmt.Fprintf(c, format+"\n", args...)
		return err == nil
	}
	req, ok := line()
	if !ok {
		return
	}
	if !strings.HasPrefix(req, "HELLO VERSION") || !strings.Contains(req, "MAX=3.") {
		say("HELLO REPLY RESULT=NOVERSION")
		return
	}
	if !say("HELLO REPLY RESULT=OK VERSION=3.1") {
		return
	}
	var inFlight bool
	defer func() {
		if inFlight {
			p.end()
		}
	}()
	for {
		req, ok := line()
		if !ok {
			return
		}
		f := samFields(req)
		switch {
		case strings.HasPrefix(req, "SESSION CREATE "):
			id := f["ID"]
			p.mu.Lock()
			_, dup := p.sessions[id]
			if !dup && id != "" {
				p.sessions[id] = c
				p.sessionsMade++
			}
			p.mu.Unlock()
			if dup || id == "" {
				say("SESSION STATUS RESULT=DUPLICATED_ID")
				return
			}
			if !say("SESSION STATUS RESULT=OK DESTINATION=%s", fakeDest("session "+id)) {
				return
			}
			io.Copy(io.Discard, r) // the session lives as long as this socket
			p.mu.Lock()
			if p.sessions[id] == c {
				delete(p.sessions, id)
			}
			p.mu.Unlock()
			return

		case strings.HasPrefix(req, "NAMING LOOKUP "):
			name := f["NAME"]
			if !inFlight {
				p.begin()
				inFlight = true
			}
			rt, ok := p.route(name)
			if !ok || rt.SAM == "KEY_NOT_FOUND" {
				// The router looks for the lease set, and gives up.
				if !p.delay(rt, c) {
					return
				}
				say("NAMING REPLY RESULT=KEY_NOT_FOUND NAME=%s", name)
				return
			}
			if !say("NAMING REPLY RESULT=OK NAME=%s VALUE=%s", name, fakeDest(name)) {
				return
			}

		case strings.HasPrefix(req, "STREAM CONNECT "):
			p.mu.Lock()
			_, live := p.sessions[f["ID"]]
			p.mu.Unlock()
			if !live {
				say("STREAM STATUS RESULT=INVALID_ID")
				return
			}
			name, ok := destName(f["DESTINATION"])
			if !ok {
				say("STREAM STATUS RESULT=INVALID_KEY")
				return
			}
			if !inFlight {
				p.begin()
				inFlight = true
			}
			rt, _ := p.route(name)
			if !p.delay(rt, c) {
				return
			}
			if rt.SAM != "" || rt.Target == "" {
				say("STREAM STATUS RESULT=%s", cmp.Or(rt.SAM, "CANT_REACH_PEER"))
				return
			}
			if !p.carry(c, r, rt.Target, func() error {
				p.end()
				inFlight = false
				_, err := io.WriteString(c, "STREAM STATUS RESULT=OK\n")
				return err
			}) {
				say("STREAM STATUS RESULT=CANT_REACH_PEER")
			}
			return

		default:
			say("%s RESULT=I2P_ERROR", strings.Join(strings.Fields(req)[:min(2, len(strings.Fields(req)))], " "))
			return
		}
	}
}

// samFields reads the KEY=VALUE words of a SAM line.
func samFields(line string) map[string]string {
	f := map[string]string{}
	for _, w := range strings.Fields(line) {
		if k, v, ok := strings.Cut(w, "="); ok {
			f[k] = v
		}
	}
	return f
}
