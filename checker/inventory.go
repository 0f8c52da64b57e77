package checker

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unicode"
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
	// VpncheckKeyFacts stands in for a key that --save-inventory redacted.
	VpncheckKeyFacts *savedKeyFacts
}

// savedKeyFacts are the facts about a key that --save-inventory keeps in
// place of the key (see Saver).
type savedKeyFacts struct {
	Length            flexInt
	Guesses           flexFloat
	EstimatedLength   flexInt
	ExposedIn         []flexString
	Fingerprint       flexString // of the key, with the page's VpncheckSalt
	FoldedFingerprint flexString // of the lower-cased key, for the banned list

	salt string // the page's VpncheckSalt, set once the page is read
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

// pageInfo is what a page (an inventory file or an API response) says
// about itself besides its connections.
type pageInfo struct {
	RegionID    string // top-level "RegionId" when it is a non-empty string
	TotalCount  int64
	HasTotal    bool
	PageNumber  int64 // 0: not declared
	PageSize    int64 // 0: not declared
	RequestID   string
	Salt        string // VpncheckSalt of a page --save-inventory wrote
	Connections int    // entries read as connections
	Skipped     int    // entries that are not objects
}

// MaxDepth is how deeply JSON may nest before the decoder gives up
// (encoding/json's own limit).
const MaxDepth = 10000

// errEmpty is a body with nothing but white space.
var errEmpty = unreadable{"empty"}

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
// for each connection as it is read, so the body is never held whole. A
// field of an unexpected type does not fail the page: it reads as absent,
// and fn gets its path in odd.
func decodeInventory(r io.Reader, fn func(c *rawConnection, odd []string) error) (pageInfo, error) {
	var info pageInfo
	dec := json.NewDecoder(r)
	tok, err := dec.Token()
	if err == io.EOF {
		return info, errEmpty
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
		case "RegionId", "Code", "VpncheckSalt":
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return info, syntaxErr(err)
			}
			var s string
			if json.Unmarshal(raw, &s) == nil {
				switch key {
				case "RegionId":
					info.RegionID = s
				case "Code":
					apiCode = s
				default:
					info.Salt = s
				}
			}
		case "TotalCount", "PageNumber", "PageSize":
			var n flexInt
			if err := dec.Decode(&n); err != nil {
				return info, syntaxErr(err)
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
			var s flexString
			if err := dec.Decode(&s); err != nil {
				return info, syntaxErr(err)
			}
			if s != oddValue {
				info.RequestID = string(s)
			}
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
	if !sawList && apiCode != "" {
		return info, unreadable{fmt.Sprintf("an API error answer (code %s), not a DescribeVpnConnections response", printable(apiCode, 64))}
	}
	if !sawList {
		return info, fmt.Errorf("%w: no VpnConnections.VpnConnection array", ErrUnreadable)
	}
	return info, nil
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

func decodeConnectionList(dec *json.Decoder, info *pageInfo, fn func(*rawConnection, []string) error) error {
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
			var c rawConnection
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

// ErrBodyTooLarge is a body cut off at the size limit LimitBody sets.
var ErrBodyTooLarge = errors.New("body too large")

// LimitBody returns r cut off after limit bytes: reading past the limit
// fails with an error wrapping ErrBodyTooLarge, which the decoder passes on.
func LimitBody(r io.Reader, limit int64) io.Reader {
	return &limitedBody{r: r, left: limit, limit: limit}
}

type limitedBody struct {
	r           io.Reader
	left, limit int64
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// One byte more tells a body of exactly the limit from a longer one.
		var one [1]byte
		if n, _ := io.ReadFull(l.r, one[:]); n == 0 {
			return 0, io.EOF
		}
		return 0, fmt.Errorf("%w: more than %d bytes", ErrBodyTooLarge, l.limit)
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// listingKey names one listing among inventory files: pages of one listing
// share their region, TotalCount and PageSize.
type listingKey struct {
	region   string
	total    int64
	hasTotal bool
	pageSize int64 // 0: not declared
}

func (k listingKey) pageSizeText() string {
	if k.pageSize <= 0 {
		return ""
	}
	return fmt.Sprintf(", PageSize %d", k.pageSize)
}

func compareListingKeys(a, b listingKey) int {
	if c := strings.Compare(a.region, b.region); c != 0 {
		return c
	}
	if a.total != b.total {
		return cmp.Compare(a.total, b.total)
	}
	return cmp.Compare(a.pageSize, b.pageSize)
}

// listing is what was read of one listing: its distinct connection ids,
// and the connections that came without one (each counts apart).
type listing struct {
	ids   map[string]struct{}
	noID  int
	pages int
}

func newListing() *listing { return &listing{ids: map[string]struct{}{}} }

// add records conns, before the inventory numbers those without an id, and
// returns how many ids were new to the listing.
func (l *listing) add(conns []*Connection) int {
	n := 0
	for _, c := range conns {
		id := c.Connection.ID
		if id == "" {
			l.noID++
			continue
		}
		if _, ok := l.ids[id]; !ok {
			l.ids[id] = struct{}{}
			n++
		}
	}
	return n
}

// held is how many distinct connections the listing read.
func (l *listing) held() int64 { return int64(len(l.ids) + l.noID) }
