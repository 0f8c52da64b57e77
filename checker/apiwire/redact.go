package apiwire

import (
	"encoding/json"
	"strings"
)

// secretKeys are the response fields that hold secrets: pre-shared keys
// (IkeConfig.Psk, TunnelIkeConfig.Psk) and BGP authentication keys.
var secretKeys = map[string]bool{"psk": true, "authkey": true}

// Redact replaces every secret in v (a document decoded with UseNumber)
// by Redacted, and gathers the secrets into keys (what the decoder reads
// as a key: a string, or a number's spelling). A save redacts its pages
// with it.
func Redact(v any, keys map[string]struct{}) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if !secretKeys[strings.ToLower(k)] {
				Redact(x, keys)
				continue
			}
			switch x := x.(type) {
			case nil:
				continue
			case string:
				if x = strings.TrimSpace(x); x == "" || x == Redacted {
					continue
				}
				keys[x] = struct{}{}
			case json.Number:
				keys[string(x)] = struct{}{}
			}
			v[k] = Redacted
		}
	case []any:
		for _, x := range v {
			Redact(x, keys)
		}
	}
}
