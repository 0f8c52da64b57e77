package checker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vpncheck/vpncheck/checker/apiwire"
	"github.com/vpncheck/vpncheck/checker/inventory"
	"github.com/vpncheck/vpncheck/policies"
)

// fuzzCanaries are the keys planted in the seeds (testdata/canary.json's
// among them).
var fuzzCanaries = []string{"CANARY-PSK-4f1d9b", "CANARY-BGP-77e2c0", "CANARY-TUNNEL-a93e71", "CANARY-BGP-TUN-0c55", "CANARY-FUZZ-7d1c"}

// FuzzInventory: arbitrary bytes read as an inventory file, and as a page
// of a live listing, through the public path. Either the input is refused
// with one line wrapping apiwire.ErrUnreadable that quotes no key, or its
// connections are judged and their policy input (what --dump-input writes)
// is valid JSON, with finite numbers, that holds no key.
func FuzzInventory(f *testing.F) {
	for _, p := range []string{"../testdata/sample.json", "../testdata/canary.json", "testdata/sample.json"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`{}`, `[]`, `null`, `{"VpnConnections": {"VpnConnection": null}}`,
		`{"TotalCount": 1e400, "PageSize": -1, "VpnConnections": {"VpnConnection": [{"IkeConfig": {"Psk": 12345678901234567890, "IkeLifetime": 1e400}}]}}`,
		`{"VpnConnections": {"VpnConnection": [{"VpnConnectionId": " CANARY-FUZZ-7d1c ", "IkeConfig": {"Psk": " CANARY-FUZZ-7d1c "}}]}}`,
		`{"VpnConnections": {"VpnConnection": [{"Name": "CANARY-FUZZ-7d1c", "IkeConfig": {"Psk": "CANARY-FUZZ-7d1c", "psk": "x"}}]}}`,
		`{"VpnConnections": {"VpnConnection": [{"Tag": {"Tag": [{"Key": "CANARY-FUZZ-7d1c", "Value": 1}]}, "VpnBgpConfig": {"AuthKey": "CANARY-FUZZ-7d1c"}}]}}`,
		`{"VpncheckSalt": "pbkdf2-sha256:1000:00112233445566778899aabbccddeeff", "VpnConnections": {"VpnConnection": [{"IkeConfig": {"Psk": "vpncheck:redacted",
		  "VpncheckKeyFacts": {"Length": 1e300, "Guesses": -1e308, "EstimatedLength": -5, "ExposedIn": ["tag:CANARY-FUZZ-7d1c", 3], "Fingerprint": "ab"}}}]}}`,
		`{"Code": "Forbidden.RAM", "Message": "CANARY-FUZZ-7d1c"}`,
	} {
		f.Add([]byte(s))
	}
	eng, err := NewEngine(context.Background(), Policies{Builtin: policies.FS})
	if err != nil {
		f.Fatal(err)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		keys := inputKeys(data)
		path := filepath.Join(dir, "inventory.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		file := inventory.New()
		fuzzJudge(t, eng, file, file.ReadFile(path, "cn-fuzz"), keys)
		page := inventory.New()
		_, err := page.NewListing("cn-fuzz", 50).AddPage(1, bytes.NewReader(data))
		fuzzJudge(t, eng, page, err, keys)
	})
}

// inputKeys are the planted keys the input holds as keys: those the
// decoder reads as a tunnel's pre-shared key or a BGP key; for input it
// refuses, every Psk or AuthKey value (as the saver finds them), and every
// planted key when it is not JSON at all. (One object spelling a key field
// twice, "Psk" and "psk", is read as the last one: the value before it is
// no key, and may show where the input also puts it in a name.)
func inputKeys(data []byte) []string {
	var found []string
	if conns, _, err := inventory.DecodePage(bytes.NewReader(data), ""); err == nil {
		for _, c := range conns {
			found = append(found, c.BGPAuthKeys...)
			for _, t := range c.Tunnels {
				found = append(found, t.Key.Plain)
			}
		}
	} else {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var doc any
		if dec.Decode(&doc) != nil {
			return fuzzCanaries
		}
		set := map[string]struct{}{}
		apiwire.Redact(doc, set)
		for k := range set {
			found = append(found, k)
		}
	}
	var out []string
	for _, k := range found {
		for _, c := range fuzzCanaries {
			if strings.Contains(k, c) {
				out = append(out, k)
				break
			}
		}
	}
	return out
}

func fuzzJudge(t *testing.T, eng *Engine, inv *inventory.Inventory, readErr error, keys []string) {
	t.Helper()
	if readErr != nil {
		msg := readErr.Error()
		if !errors.Is(readErr, apiwire.ErrUnreadable) || msg == "" || strings.ContainsAny(msg, "\n\r") {
			t.Fatalf("refused with %q (%T), want one line wrapping apiwire.ErrUnreadable", msg, readErr)
		}
		for _, k := range keys {
			if strings.Contains(msg, k) {
				t.Fatalf("the error quotes the key %q: %s", k, msg)
			}
		}
		return
	}
	var dump bytes.Buffer
	res, err := eng.Check(context.Background(), inv, Options{Inputs: &dump})
	if err != nil {
		t.Fatalf("a readable inventory was not judged: %v", err)
	}
	if !json.Valid(dump.Bytes()) {
		t.Fatalf("the policy input is not JSON: %s", dump.Bytes())
	}
	dec := json.NewDecoder(bytes.NewReader(dump.Bytes()))
	dec.UseNumber()
	var inputs any
	if err := dec.Decode(&inputs); err != nil {
		t.Fatal(err)
	}
	if n, ok := infinite(inputs); ok {
		t.Fatalf("the policy input holds the number %s", n)
	}
	out, err := json.Marshal(res.Report)
	if err != nil {
		t.Fatalf("the report does not encode: %v", err)
	}
	for _, k := range keys {
		if bytes.Contains(dump.Bytes(), []byte(k)) || bytes.Contains(out, []byte(k)) {
			t.Fatalf("the key %q reached the policy input or the report:\n%s\n%s", k, dump.Bytes(), out)
		}
	}
}

// infinite finds a number that does not fit a float64.
func infinite(v any) (string, bool) {
	switch v := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return string(v), true
		}
	case []any:
		for _, x := range v {
			if n, ok := infinite(x); ok {
				return n, true
			}
		}
	case map[string]any:
		for _, x := range v {
			if n, ok := infinite(x); ok {
				return n, true
			}
		}
	}
	return "", false
}
