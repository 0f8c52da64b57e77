package checker

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// The raw types mirror the DescribeVpnConnections response body (API version
// 2016-04-28) with tolerant scalar types. Only what vpncheck reads is decoded.

type rawConnection struct {
	VpnConnectionId    flexString
	Name               flexString
	VpnGatewayId       flexString
	CustomerGatewayId  flexString
	LocalSubnet        flexString
	RemoteSubnet       flexString
	Status             flexString
	EnableDpd          flexBool
	EnableNatTraversal flexBool
	EnableTunnelsBgp   flexBool
	IkeConfig          *rawIkeConfig
	IpsecConfig        *rawIpsecConfig
	VcoHealthCheck     *rawHealthCheck
	VpnBgpConfig       *rawBgpConfig
	Tag                *struct {
		Tag []rawTag
	}
	TunnelOptionsSpecification *struct {
		TunnelOptions []rawTunnel
	}
}

type rawTag struct {
	Key   flexString
	Value flexString
}

type rawIkeConfig struct {
	IkeVersion  flexString
	IkeMode     flexString
	IkeEncAlg   flexString
	IkeAuthAlg  flexString
	IkePfs      flexString
	IkeLifetime flexInt
	LocalId     flexString
	RemoteId    flexString
	Psk         flexString
}

type rawIpsecConfig struct {
	IpsecEncAlg   flexString
	IpsecAuthAlg  flexString
	IpsecPfs      flexString
	IpsecLifetime flexInt
}

type rawHealthCheck struct {
	Enable flexBool
	Status flexString
	Dip    flexString
	Sip    flexString
}

type rawBgpConfig struct {
	Status     flexString // connection level
	BgpStatus  flexString // tunnel level
	LocalAsn   flexString
	PeerAsn    flexString
	TunnelCidr flexString
	AuthKey    flexString
}

type rawTunnel struct {
	TunnelId           flexString
	Role               flexString
	Status             flexString
	EnableDpd          flexBool
	EnableNatTraversal flexBool
	TunnelIkeConfig    *rawIkeConfig
	TunnelIpsecConfig  *rawIpsecConfig
	TunnelBgpConfig    *rawBgpConfig
}

// pageInfo is what an inventory file says about itself besides its connections.
type pageInfo struct {
	RegionID    string // top-level "RegionId" when it is a non-empty string
	TotalCount  int64
	HasTotal    bool
	RequestID   string
	Connections int
}

// ErrUnreadable marks input that cannot be read as a DescribeVpnConnections
// response: a missing or unreadable file, or a body of another shape.
var ErrUnreadable error = kindOf{"not a DescribeVpnConnections response", ErrInput}

// kindOf is a sentinel error that is also a kind of a broader one.
type kindOf struct {
	msg    string
	parent error
}

func (k kindOf) Error() string { return k.msg }
func (k kindOf) Unwrap() error { return k.parent }

// unreadable is an ErrUnreadable with its own wording.
type unreadable struct{ msg string }

func (e unreadable) Error() string        { return e.msg }
func (e unreadable) Is(target error) bool { return target == ErrUnreadable || target == ErrInput }

// ErrInput marks bad input from the user: a flag, a setting or a file that
// cannot be used. The command line exits 2 on it.
var ErrInput = errors.New("bad input")

// InputError is an ErrInput with its own wording.
type InputError struct{ Msg string }

func (e InputError) Error() string        { return e.Msg }
func (e InputError) Is(target error) bool { return target == ErrInput }

// Inputf formats an InputError.
func Inputf(format string, a ...any) error { return InputError{fmt.Sprintf(format, a...)} }

// decodeInventory streams a DescribeVpnConnections response body, calling fn
// for each connection as it is read, so the body is never held whole.
func decodeInventory(r io.Reader, fn func(*rawConnection) error) (pageInfo, error) {
	var info pageInfo
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return info, err
	}
	sawList := false
	for dec.More() {
		key, err := objectKey(dec)
		if err != nil {
			return info, err
		}
		switch key {
		case "VpnConnections":
			n, err := decodeConnectionList(dec, fn)
			if err != nil {
				return info, err
			}
			info.Connections += n
			sawList = true
		case "RegionId":
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return info, syntaxErr(err)
			}
			var s string
			if json.Unmarshal(raw, &s) == nil {
				info.RegionID = s
			}
		case "TotalCount":
			var n flexInt
			if err := dec.Decode(&n); err != nil {
				return info, syntaxErr(err)
			}
			info.TotalCount, info.HasTotal = n.Value, n.Known
		case "RequestId":
			var s flexString
			if err := dec.Decode(&s); err != nil {
				return info, syntaxErr(err)
			}
			info.RequestID = string(s)
		default:
			if err := skipValue(dec); err != nil {
				return info, err
			}
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return info, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return info, fmt.Errorf("%w: data after the response object", ErrUnreadable)
	}
	if !sawList {
		return info, fmt.Errorf("%w: no VpnConnections.VpnConnection array", ErrUnreadable)
	}
	return info, nil
}

func decodeConnectionList(dec *json.Decoder, fn func(*rawConnection) error) (int, error) {
	if err := expectDelim(dec, '{'); err != nil {
		return 0, fmt.Errorf("%w: VpnConnections is not an object", ErrUnreadable)
	}
	n, saw := 0, false
	for dec.More() {
		key, err := objectKey(dec)
		if err != nil {
			return n, err
		}
		if key != "VpnConnection" {
			if err := skipValue(dec); err != nil {
				return n, err
			}
			continue
		}
		saw = true
		tok, err := dec.Token()
		if err != nil {
			return n, syntaxErr(err)
		}
		if tok == nil { // "VpnConnection": null is an empty list
			continue
		}
		if d, ok := tok.(json.Delim); !ok || d != '[' {
			return n, fmt.Errorf("%w: VpnConnections.VpnConnection is not an array", ErrUnreadable)
		}
		for dec.More() {
			var c rawConnection
			if err := dec.Decode(&c); err != nil {
				return n, fmt.Errorf("%w: connection %d: %v", ErrUnreadable, n+1, plainJSONError(err))
			}
			n++
			if err := fn(&c); err != nil {
				return n, err
			}
		}
		if err := expectDelim(dec, ']'); err != nil {
			return n, err
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return n, err
	}
	if !saw {
		return n, fmt.Errorf("%w: no VpnConnections.VpnConnection array", ErrUnreadable)
	}
	return n, nil
}

func objectKey(dec *json.Decoder) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", syntaxErr(err)
	}
	key, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("%w: malformed object", ErrUnreadable)
	}
	return key, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return syntaxErr(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		if want == '{' {
			return fmt.Errorf("%w: expected a JSON object", ErrUnreadable)
		}
		return fmt.Errorf("%w: malformed JSON", ErrUnreadable)
	}
	return nil
}

// skipValue consumes one JSON value without building it.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return syntaxErr(err)
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
		}
		if depth == 0 {
			return nil
		}
	}
}

func syntaxErr(err error) error {
	if errors.Is(err, ErrUnreadable) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrUnreadable, plainJSONError(err))
}

// plainJSONError keeps decoder errors to one short line; it never quotes the
// input, which may hold a key.
func plainJSONError(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated JSON"
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %s has the wrong type (%s)", te.Field, te.Value)
	}
	return "invalid JSON"
}

// isEmptyJSON reports whether b holds only white space.
func isEmptyJSON(b []byte) bool { return len(bytes.TrimSpace(b)) == 0 }
