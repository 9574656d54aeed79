package cli

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/bitcoin-handshake/handshake"
)

// safeChars are the bytes Bitcoin Core's SanitizeString keeps
// (SAFE_CHARS_DEFAULT, util/strencodings.cpp): letters, digits, space and
// . , ; - _ / : ? @ ( ).
const safeChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;-_/:?@()"

// Sanitize makes a peer-controlled string (a user agent, a command, a
// feature ID) safe for a terminal. Where Core's SanitizeString deletes the
// bytes outside its safe set, Sanitize writes each as \xNN, so that nothing
// a peer sent is hidden and nothing reaches the terminal raw: no escape
// sequence, control character or invalid UTF-8.
func Sanitize(s string) string {
	var b strings.Builder
	for i := range len(s) {
		if c := s[i]; strings.IndexByte(safeChars, c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, `\x%02x`, c)
		}
	}
	return b.String()
}

// Printable escapes the control characters and non-ASCII bytes of a
// message of ours, such as an error, that may quote a peer's bytes; other
// printable ASCII stays as it is for legibility.
func Printable(s string) string {
	var b strings.Builder
	for i := range len(s) {
		if c := s[i]; c >= 0x20 && c < 0x7f && c != '\\' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, `\x%02x`, c)
		}
	}
	return b.String()
}

// Features lists BIP434 features as "id:hexdata" (the ID sanitized).
func Features(fs []handshake.Feature) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = Sanitize(f.ID) + ":" + hex.EncodeToString(f.Data)
	}
	return out
}

// Ignored lists ignored messages as "command (reason)" (the command
// sanitized).
func Ignored(is []handshake.Ignored) []string {
	out := make([]string, len(is))
	for i, m := range is {
		out[i] = Sanitize(m.Command) + " (" + m.Reason + ")"
	}
	return out
}

// SanitizeAll sanitizes each string.
func SanitizeAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = Sanitize(s)
	}
	return out
}
