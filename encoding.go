package handshake

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
)

// The text forms of Status, Transport and AddrNetwork are their String
// forms, so that JSON written by one program reads back in another and
// command-line flags can use flag.TextVar.

// MarshalText encodes the status as its String form.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes "OK", "PARTIALLY OK" or "FAILED".
func (s *Status) UnmarshalText(b []byte) error {
	for v := StatusFailed; v <= StatusOK; v++ {
		if v.String() == string(b) {
			*s = v
			return nil
		}
	}
	return fmt.Errorf("handshake: unknown status %q (want OK, PARTIALLY OK or FAILED)", b)
}

// MarshalText encodes the transport as its String form.
func (t Transport) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText decodes "auto", "v1" or "v2", as ParseTransport does.
func (t *Transport) UnmarshalText(b []byte) error {
	v, err := ParseTransport(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// MarshalText encodes the network as its String form.
func (n AddrNetwork) MarshalText() ([]byte, error) { return []byte(n.String()), nil }

// UnmarshalText decodes "ipv4", "ipv6", "onion", "i2p" or "cjdns".
func (n *AddrNetwork) UnmarshalText(b []byte) error {
	for v := NetIPv4; v <= NetCJDNS; v++ {
		if v.String() == string(b) {
			*n = v
			return nil
		}
	}
	return fmt.Errorf("handshake: unknown address network %q (want ipv4, ipv6, onion, i2p or cjdns)", b)
}

// featureJSON is the JSON form of a Feature, both ways: the data in hex.
type featureJSON struct {
	ID   string `json:"id"`
	Data string `json:"data"`
}

// MarshalJSON encodes f as {"id": ..., "data": "<hex>"}.
func (f Feature) MarshalJSON() ([]byte, error) {
	return json.Marshal(featureJSON{f.ID, hex.EncodeToString(f.Data)})
}

// UnmarshalJSON decodes what MarshalJSON encodes.
func (f *Feature) UnmarshalJSON(b []byte) error {
	var j featureJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	data, err := hex.DecodeString(j.Data)
	if err != nil {
		return fmt.Errorf("feature %q: data: %w", j.ID, err)
	}
	f.ID, f.Data = j.ID, data
	return nil
}

// featuresJSON is Result.Features in JSON: always an array when written.
// Read, it also takes the shape files written before BIP434 support have,
// an array of command names, which is what Negotiation holds now.
type featuresJSON struct {
	list []Feature
	old  []string // the old shape's commands
}

func (f featuresJSON) MarshalJSON() ([]byte, error) {
	if f.list == nil {
		return []byte("[]"), nil
	}
	return json.Marshal(f.list)
}

func (f *featuresJSON) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &f.list); err != nil {
		if json.Unmarshal(b, &f.old) != nil {
			return err // neither shape: the error of the current one
		}
		f.list = nil
	}
	if len(f.list) == 0 {
		f.list = nil // as the Result held them
	}
	return nil
}

// resultAlias is Result without its methods, so that resultJSON can embed
// it without recursing into MarshalJSON.
type resultAlias Result

// resultJSON is the JSON form of a Result, for both directions. The
// Result's own fields are encoded by their tags; the fields here replace
// those whose form differs: the peer's version (absent when none arrived),
// the features (always an array; an old file's shape read too), durations
// in milliseconds, and the error as text. A field added to Result needs
// only its tag.
type resultJSON struct {
	*resultAlias
	Peer          *PeerVersion `json:"peer,omitempty"`
	Features      featuresJSON `json:"features"`
	ConnectMS     float64      `json:"connect_ms"`
	PeerVersionMS float64      `json:"peer_version_ms"`
	PeerVerackMS  float64      `json:"peer_verack_ms"`
	TotalMS       float64      `json:"total_ms"`
	Error         string       `json:"error,omitempty"`
}

// MarshalJSON encodes r with durations in milliseconds (to the microsecond),
// Err as its text, and the peer's version only when one arrived.
func (r Result) MarshalJSON() ([]byte, error) {
	j := resultJSON{
		resultAlias:   (*resultAlias)(&r),
		Features:      featuresJSON{list: r.Features},
		ConnectMS:     ms(r.Timings.Connect),
		PeerVersionMS: ms(r.Timings.PeerVersion),
		PeerVerackMS:  ms(r.Timings.PeerVerack),
		TotalMS:       ms(r.Timings.Total),
	}
	if r.Status != StatusFailed {
		j.Peer = &r.Peer
	}
	if r.Err != nil {
		j.Error = r.Err.Error()
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes what MarshalJSON encodes, so the JSON lines our
// programs write read back into Results. Unknown keys are ignored. An
// error comes back as an error value with the same text only: errors.Is
// and errors.As do not survive JSON, so match on Status and the text.
func (r *Result) UnmarshalJSON(b []byte) error {
	var res Result
	j := resultJSON{resultAlias: (*resultAlias)(&res)}
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	if j.Peer != nil {
		res.Peer = *j.Peer
	}
	res.Features = j.Features.list
	if res.Negotiation == nil {
		res.Negotiation = j.Features.old // an old file's "features"
	}
	res.Timings = Timings{
		Connect:     fromMS(j.ConnectMS),
		PeerVersion: fromMS(j.PeerVersionMS),
		PeerVerack:  fromMS(j.PeerVerackMS),
		Total:       fromMS(j.TotalMS),
	}
	if j.Error != "" {
		res.Err = errors.New(j.Error)
	}
	*r = res
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func fromMS(ms float64) time.Duration {
	return time.Duration(math.Round(ms*1000)) * time.Microsecond
}
