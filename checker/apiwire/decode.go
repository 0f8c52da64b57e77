package apiwire

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unicode"

	"github.com/vpncheck/vpncheck/checker/badinput"
)

// MaxDepth is how deeply JSON may nest before the decoder gives up
// (encoding/json's own limit).
const MaxDepth = 10000

// ErrEmpty is a body with nothing but white space.
var ErrEmpty = unreadable{"empty"}

// ErrUnreadable marks input that cannot be read as a DescribeVpnConnections
// response: a missing or unreadable file, or a body of another shape.
var ErrUnreadable error = kindOf{"not a DescribeVpnConnections response", badinput.Err}

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
func (e unreadable) Is(target error) bool { return target == ErrUnreadable || target == badinput.Err }

// Decode streams a DescribeVpnConnections response body, calling fn
// for each connection as it is read, so the body is never held whole. A
// field of an unexpected type does not fail the page: it reads as absent,
// and fn gets its path in odd.
func Decode(r io.Reader, fn func(c *Connection, odd []string) error) (Page, error) {
	var info Page
	dec := json.NewDecoder(r)
	tok, err := dec.Token()
	if err == io.EOF {
		return info, ErrEmpty
	}
	if err != nil {
		return info, syntaxErr(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return info, fmt.Errorf("%w: expected a JSON object", ErrUnreadable)
	}
	sawList := false
	apiCode := ""
	for dec.More() {
		key, err := objectKey(dec)
		if err != nil {
			return info, err
		}
		switch key {
		case "VpnConnections":
			if err := decodeConnectionList(dec, &info, fn); err != nil {
				return info, err
			}
			sawList = true
		default:
			if err := decodePageField(dec, key, &info, &apiCode); err != nil {
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
	if !sawList && apiCode != "" {
		return info, unreadable{fmt.Sprintf("an API error answer (code %s), not a DescribeVpnConnections response", printable(apiCode, 64))}
	}
	if !sawList {
		return info, fmt.Errorf("%w: no VpnConnections.VpnConnection array", ErrUnreadable)
	}
	return info, nil
}

// decodePageField reads the response's field key (one other than the
// connection list) into info; the API error code, when the body is an
// error answer, goes to apiCode. An unknown field is skipped.
func decodePageField(dec *json.Decoder, key string, info *Page, apiCode *string) error {
	switch key {
	case "RegionId", "Code", "VpncheckSalt":
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return syntaxErr(err)
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			switch key {
			case "RegionId":
				info.RegionID = s
			case "Code":
				*apiCode = s
			default:
				info.Salt = s
			}
		}
	case "TotalCount", "PageNumber", "PageSize":
		var n Int
		if err := dec.Decode(&n); err != nil {
			return syntaxErr(err)
		}
		switch key {
		case "TotalCount":
			info.TotalCount, info.HasTotal = n.Value, n.Known
		case "PageNumber":
			info.PageNumber = n.Value
		default:
			info.PageSize = n.Value
		}
	case "RequestId":
		var s String
		if err := dec.Decode(&s); err != nil {
			return syntaxErr(err)
		}
		if s != oddValue {
			info.RequestID = string(s)
		}
	default:
		return skipValue(dec)
	}
	return nil
}

// printable keeps the first n runes of s that are printable, for quoting a
// code from a body in a message.
func printable(s string, n int) string {
	out := make([]rune, 0, min(len(s), n))
	for _, r := range s {
		if len(out) == n {
			break
		}
		if unicode.IsPrint(r) {
			out = append(out, r)
		}
	}
	return string(out)
}

func decodeConnectionList(dec *json.Decoder, info *Page, fn func(*Connection, []string) error) error {
	if err := expectDelim(dec, '{'); err != nil {
		return fmt.Errorf("%w: VpnConnections is not an object", ErrUnreadable)
	}
	saw := false
	for dec.More() {
		key, err := objectKey(dec)
		if err != nil {
			return err
		}
		if key != "VpnConnection" {
			if err := skipValue(dec); err != nil {
				return err
			}
			continue
		}
		saw = true
		tok, err := dec.Token()
		if err != nil {
			return syntaxErr(err)
		}
		if tok == nil { // "VpnConnection": null is an empty list
			continue
		}
		if d, ok := tok.(json.Delim); !ok || d != '[' {
			return fmt.Errorf("%w: VpnConnections.VpnConnection is not an array", ErrUnreadable)
		}
		for dec.More() {
			var c Connection
			var odd []string
			if err := dec.Decode(&c); err != nil {
				var te *json.UnmarshalTypeError
				if !errors.As(err, &te) {
					if !isJSONError(err) {
						return syntaxErr(err)
					}
					return fmt.Errorf("%w: connection %d: %v", ErrUnreadable, info.Connections+info.Skipped+1, plainJSONError(err))
				}
				if te.Field == "" { // not an object at all
					info.Skipped++
					continue
				}
				// encoding/json read the rest of the object; the first field
				// of the wrong type is left out.
				odd = append(odd, te.Field)
			}
			clearOdd(reflect.ValueOf(&c), "", &odd)
			info.Connections++
			if err := fn(&c, odd); err != nil {
				return err
			}
		}
		if err := expectDelim(dec, ']'); err != nil {
			return err
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return err
	}
	if !saw {
		return fmt.Errorf("%w: no VpnConnections.VpnConnection array", ErrUnreadable)
	}
	return nil
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

// syntaxErr words a decoding error without quoting the input. An error of
// the reader under the decoder (a size limit, a broken connection, a disk)
// is kept as it is, wrapped.
func syntaxErr(err error) error {
	switch {
	case errors.Is(err, ErrUnreadable), errors.Is(err, ErrBodyTooLarge):
		return err
	case isJSONError(err):
		return fmt.Errorf("%w: %v", ErrUnreadable, plainJSONError(err))
	}
	return fmt.Errorf("%w: %w", ErrUnreadable, err)
}

// plainJSONError keeps decoder errors to one short line; it never quotes the
// input, which may hold a key.
func plainJSONError(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated JSON"
	case errors.As(err, &se) && strings.Contains(se.Error(), "exceeded max depth"):
		return fmt.Sprintf("JSON nested more than %d levels deep, too deeply to read (at byte %d)", MaxDepth, se.Offset)
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %s has the wrong type (%s)", te.Field, te.Value)
	}
	return "invalid JSON"
}

// isJSONError reports whether err is the decoder's own complaint about the
// text, rather than an error of the reader under it.
func isJSONError(err error) bool {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &se) || errors.As(err, &te)
}

// Unreadable is an error wrapping ErrUnreadable worded as msg.
func Unreadable(msg string) error { return unreadable{msg} }

// ReadConnection reads one connection object as the decoder does: a field
// of the wrong type reads as absent and is named in odd. ok is false for
// b that is not a JSON object.
func ReadConnection(b []byte) (c Connection, odd []string, ok bool) {
	if err := json.Unmarshal(b, &c); err != nil {
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) || te.Field == "" {
			return Connection{}, nil, false
		}
		odd = append(odd, te.Field)
	}
	clearOdd(reflect.ValueOf(&c), "", &odd)
	return c, odd, true
}
