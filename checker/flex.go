package checker

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// The VPC API is not consistent about scalar types: connection-level EnableDpd
// is a boolean while the tunnel-level one is the string "true"; LocalAsn is a
// number in VpnBgpConfig and a string in TunnelBgpConfig; lifetimes are
// numbers or strings. These types accept any of those spellings, and treat
// null and the empty string as absent, so that absent stays unknown.

// flexString is a scalar read as text. A number keeps its literal spelling.
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0, bytes.Equal(b, []byte("null")):
		*s = ""
	case b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = flexString(strings.TrimSpace(v))
	case b[0] == '{' || b[0] == '[':
		// An object where a scalar belongs carries no usable value: unknown.
		*s = ""
	default:
		*s = flexString(b) // number or boolean literal
	}
	return nil
}

// flexBool is a boolean that may arrive as true/false or "true"/"false".
// Anything else is unknown.
type flexBool struct {
	Value bool
	Known bool
}

func (f *flexBool) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	switch strings.ToLower(string(s)) {
	case "true":
		*f = flexBool{Value: true, Known: true}
	case "false":
		*f = flexBool{Value: false, Known: true}
	default:
		*f = flexBool{}
	}
	return nil
}

func (f flexBool) ptr() *bool {
	if !f.Known {
		return nil
	}
	v := f.Value
	return &v
}

// flexInt is an integer that may arrive as a number or a numeric string.
// Anything else is unknown (zero, Known false).
type flexInt struct {
	Value int64
	Known bool
}

func (f *flexInt) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	*f = flexInt{}
	if s == "" {
		return nil
	}
	if v, err := strconv.ParseInt(string(s), 10, 64); err == nil {
		*f = flexInt{Value: v, Known: true}
		return nil
	}
	if v, err := strconv.ParseFloat(string(s), 64); err == nil && v == float64(int64(v)) {
		*f = flexInt{Value: int64(v), Known: true}
	}
	return nil
}
