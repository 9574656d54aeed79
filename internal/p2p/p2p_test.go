package p2p

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
)

func TestCommand(t *testing.T) {
	for _, tt := range []struct {
		field   string
		maxChar byte
		name    string
		ok      bool
	}{
		{"version\x00\x00\x00\x00\x00", 0x7e, "version", true},
		{"sendaddrv2\x00\x00", 0x7e, "sendaddrv2", true},
		{"abcdefghijkl", 0x7e, "abcdefghijkl", true},
		{"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 0x7e, "", true},
		{"ver\x00sion\x00\x00\x00\x00", 0x7e, "", false}, // non-NUL after the padding starts
		{"ver\x1fsion\x00\x00\x00\x00", 0x7e, "", false},
		{"ver\x7f\x00\x00\x00\x00\x00\x00\x00\x00", 0x7e, "", false},       // v1 refuses 0x7f
		{"ver\x7f\x00\x00\x00\x00\x00\x00\x00\x00", 0x7f, "ver\x7f", true}, // v2 takes it
		{"ver\x80\x00\x00\x00\x00\x00\x00\x00\x00", 0x7f, "", false},
	} {
		name, ok := Command([]byte(tt.field), tt.maxChar)
		if ok != tt.ok || string(name) != tt.name {
			t.Errorf("Command(%q, %#x) = %q, %v; want %q, %v", tt.field, tt.maxChar, name, ok, tt.name, tt.ok)
		}
	}
}

func TestValidCommand(t *testing.T) {
	for cmd, want := range map[string]bool{
		"ping": true, "abcdefghijkl": true, "": false, "abcdefghijklm": false,
		"a b": true, "tab\t": false, "del\x7f": false,
	} {
		if ValidCommand(cmd) != want {
			t.Errorf("ValidCommand(%q) = %v", cmd, !want)
		}
	}
}

func TestHungUp(t *testing.T) {
	for _, err := range []error{io.EOF, io.ErrUnexpectedEOF, io.ErrClosedPipe,
		fmt.Errorf("read: %w", syscall.ECONNRESET), syscall.EPIPE, syscall.ECONNABORTED} {
		if !HungUp(err) {
			t.Errorf("HungUp(%v) = false", err)
		}
	}
	for _, err := range []error{nil, net.ErrClosed, errors.New("other"), syscall.ETIMEDOUT} {
		if HungUp(err) {
			t.Errorf("HungUp(%v) = true", err)
		}
	}
}
