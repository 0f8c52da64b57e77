package fix

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// roundTrip is how the nested objects were made before asMap: encoded as
// JSON and decoded with UseNumber.
func roundTrip(v any) map[string]any {
	b, _ := json.Marshal(v)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	dec.Decode(&m)
	return m
}

// The tunnel configs' objects are what the JSON round trip made, for
// every kind of text the cloud may send (invalid UTF-8, HTML, controls).
func TestAsMapIsTheJSONRoundTrip(t *testing.T) {
	texts := []string{"", "aes", "<&>", "\xff\xfeab\xc3", "\u2028", "tab\there", `"q"\`, "é", "${NEW_PSK}"}
	for i, a := range texts {
		for j, b := range texts {
			ike := &ikeConfig{Psk: a, IkeVersion: b, IkeMode: a, IkeEncAlg: b, IkeAuthAlg: a, IkePfs: b,
				IkeLifetime: int64(i*j - 3), LocalId: a, RemoteId: b}
			ipsec := &ipsecConfig{IpsecEncAlg: a, IpsecAuthAlg: b, IpsecPfs: a, IpsecLifetime: int64(j - i)}
			if got, want := ike.asMap(), roundTrip(ike); !reflect.DeepEqual(got, want) {
				t.Errorf("ike %q %q: %#v, want %#v", a, b, got, want)
			}
			if got, want := ipsec.asMap(), roundTrip(ipsec); !reflect.DeepEqual(got, want) {
				t.Errorf("ipsec %q %q: %#v, want %#v", a, b, got, want)
			}
		}
	}
}
