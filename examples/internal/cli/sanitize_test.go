package cli

import (
	"slices"
	"testing"

	"github.com/bitcoin-handshake/handshake"
)

func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{
		"/Satoshi:27.1.0/":              "/Satoshi:27.1.0/",
		"/Satoshi:27.0.0/\n\x1b[31m":    `/Satoshi:27.0.0/\x0a\x1b\x5b31m`,
		"wtxidrelay":                    "wtxidrelay",
		"a\\b":                          `a\x5cb`,
		"caf\xc3\xa9 \xff":              `caf\xc3\xa9 \xff`,
		"(ok) @ x;y,z-_?":               "(ok) @ x;y,z-_?",
		"\x00\xff\x01\x7f":              `\x00\xff\x01\x7f`,
		"\x1b]0;title\x07 osc sequence": `\x1b\x5d0;title\x07 osc sequence`,
	} {
		if got := Sanitize(in); got != want {
			t.Errorf("Sanitize(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Printable("read: \"x\" \x1b[2J \\ é"); got != `read: "x" \x1b[2J \x5c \xc3\xa9` {
		t.Errorf("Printable = %q", got)
	}
}

func TestLists(t *testing.T) {
	if got := Features([]handshake.Feature{{ID: "BIP434", Data: []byte{1, 0xab}}, {ID: "x\x1by!", Data: nil}}); !slices.Equal(got, []string{"BIP434:01ab", `x\x1by\x21:`}) {
		t.Errorf("Features = %q", got)
	}
	if got := Ignored([]handshake.Ignored{{Command: "ver\x01ack", Reason: "invalid command"}}); !slices.Equal(got, []string{`ver\x01ack (invalid command)`}) {
		t.Errorf("Ignored = %q", got)
	}
}
