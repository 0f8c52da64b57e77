package checker

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
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

// oddValue marks an object or array where a scalar belongs, until
// clearOdd turns it into absent and names the field.
const oddValue flexString = "\x00vpncheck:odd"

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
		// An object where a scalar belongs carries no usable value: unknown,
		// and said so (clearOdd).
		*s = oddValue
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
	Odd   bool // an object or array
}

func (f *flexBool) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	switch strings.ToLower(string(s)) {
	case string(oddValue):
		*f = flexBool{Odd: true}
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
	Odd   bool // an object or array
}

func (f *flexInt) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	*f = flexInt{Odd: s == oddValue}
	if s == "" || f.Odd {
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

// flexFloat is a finite number that may arrive as a number or a numeric
// string. Anything else is unknown.
type flexFloat struct {
	Value float64
	Known bool
	Odd   bool // an object or array
}

func (f *flexFloat) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	*f = flexFloat{Odd: s == oddValue}
	if s == "" || f.Odd {
		return nil
	}
	if v, err := strconv.ParseFloat(string(s), 64); err == nil && !math.IsInf(v, 0) && !math.IsNaN(v) {
		*f = flexFloat{Value: v, Known: true}
	}
	return nil
}

var (
	flexStringType = reflect.TypeFor[flexString]()
	flexBoolType   = reflect.TypeFor[flexBool]()
	flexIntType    = reflect.TypeFor[flexInt]()
	flexFloatType  = reflect.TypeFor[flexFloat]()
)

// clearOdd turns every field of v that held an object or array where a
// scalar belongs into absent, and appends its path to out. v is a pointer
// to a raw struct.
func clearOdd(v reflect.Value, path string, out *[]string) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			clearOdd(v.Elem(), path, out)
		}
	case reflect.Slice:
		for i := range v.Len() {
			clearOdd(v.Index(i), path+"["+strconv.Itoa(i)+"]", out)
		}
	case reflect.String:
		if v.Type() == flexStringType && flexString(v.String()) == oddValue {
			v.SetString("")
			*out = append(*out, path)
		}
	case reflect.Struct:
		switch v.Type() {
		case flexBoolType, flexIntType, flexFloatType:
			if v.FieldByName("Odd").Bool() {
				v.Set(reflect.Zero(v.Type()))
				*out = append(*out, path)
			}
			return
		}
		t := v.Type()
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() {
				p := f.Name
				if path != "" {
					p = path + "." + f.Name
				}
				clearOdd(v.Field(i), p, out)
			}
		}
	}
}
