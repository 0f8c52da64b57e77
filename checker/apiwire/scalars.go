package apiwire

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

// String is a scalar read as text. A number keeps its literal spelling.
type String string

// oddValue marks an object or array where a scalar belongs, until
// clearOdd turns it into absent and names the field.
const oddValue String = "\x00vpncheck:odd"

func (s *String) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0, bytes.Equal(b, []byte("null")):
		*s = ""
	case b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = String(strings.TrimSpace(v))
	case b[0] == '{' || b[0] == '[':
		// An object where a scalar belongs carries no usable value: unknown,
		// and said so (clearOdd).
		*s = oddValue
	default:
		*s = String(b) // number or boolean literal
	}
	return nil
}

// Bool is a boolean that may arrive as true/false or "true"/"false".
// Anything else is unknown.
type Bool struct {
	Value bool
	Known bool
	Odd   bool // an object or array
}

func (f *Bool) UnmarshalJSON(b []byte) error {
	var s String
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	switch strings.ToLower(string(s)) {
	case string(oddValue):
		*f = Bool{Odd: true}
	case "true":
		*f = Bool{Value: true, Known: true}
	case "false":
		*f = Bool{Value: false, Known: true}
	default:
		*f = Bool{}
	}
	return nil
}

func (f Bool) Ptr() *bool {
	if !f.Known {
		return nil
	}
	v := f.Value
	return &v
}

// Int is an integer that may arrive as a number or a numeric string.
// Anything else is unknown (zero, Known false).
type Int struct {
	Value int64
	Known bool
	Odd   bool // an object or array
}

func (f *Int) UnmarshalJSON(b []byte) error {
	var s String
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	*f = Int{Odd: s == oddValue}
	if s == "" || f.Odd {
		return nil
	}
	if v, err := strconv.ParseInt(string(s), 10, 64); err == nil {
		*f = Int{Value: v, Known: true}
		return nil
	}
	if v, err := strconv.ParseFloat(string(s), 64); err == nil && v == float64(int64(v)) {
		*f = Int{Value: int64(v), Known: true}
	}
	return nil
}

// Float is a finite number that may arrive as a number or a numeric
// string. Anything else is unknown.
type Float struct {
	Value float64
	Known bool
	Odd   bool // an object or array
}

func (f *Float) UnmarshalJSON(b []byte) error {
	var s String
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	*f = Float{Odd: s == oddValue}
	if s == "" || f.Odd {
		return nil
	}
	if v, err := strconv.ParseFloat(string(s), 64); err == nil && !math.IsInf(v, 0) && !math.IsNaN(v) {
		*f = Float{Value: v, Known: true}
	}
	return nil
}

var (
	stringType = reflect.TypeFor[String]()
	boolType   = reflect.TypeFor[Bool]()
	intType    = reflect.TypeFor[Int]()
	floatType  = reflect.TypeFor[Float]()
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
		if v.Type() == stringType && String(v.String()) == oddValue {
			v.SetString("")
			*out = append(*out, path)
		}
	case reflect.Struct:
		switch v.Type() {
		case boolType, intType, floatType:
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
