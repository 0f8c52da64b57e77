package saved

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vpncheck/vpncheck/checker"
	"github.com/vpncheck/vpncheck/checker/inventory"
	"github.com/vpncheck/vpncheck/checker/report"
	"github.com/vpncheck/vpncheck/policies"
)

// replayConns is a run whose findings depend on every key fact: weak,
// banned, reused across regions and tunnels, exposed, long, a number for a
// key, and keys of one connection in another's name, tags and ids.
func replayConns() map[string][][]map[string]any { // region -> pages -> connections
	ike := func(psk any, local, remote string) map[string]any {
		return map[string]any{"IkeVersion": "ikev2", "IkeMode": "main", "IkeEncAlg": "aes256", "IkeAuthAlg": "sha256",
			"IkePfs": "group14", "LocalId": local, "RemoteId": remote, "Psk": psk}
	}
	ipsec := map[string]any{"IpsecEncAlg": "aes256", "IpsecAuthAlg": "sha256", "IpsecPfs": "group14"}
	conn := func(id, name string, psk any, extra map[string]any) map[string]any {
		c := map[string]any{"VpnConnectionId": id, "Name": name, "Status": "ipsec_sa_established", "EnableDpd": true,
			"IkeConfig": ike(psk, "47.0.0.1", "203.0.113.9"), "IpsecConfig": ipsec}
		for k, v := range extra {
			c[k] = v
		}
		return c
	}
	long := strings.Repeat("Zq8#kW2!", 200)
	var first []map[string]any
	for i := range 50 {
		first = append(first, conn(fmt.Sprintf("vco-strong-%02d", i), fmt.Sprintf("strong %d", i), fmt.Sprintf("Kq7#zP2v!mW9-%02d-xT4&uR", i), nil))
	}
	first[0] = conn("vco-weak", "weak", "CANARY-reused", map[string]any{"VpnBgpConfig": map[string]any{"PeerAsn": "65001", "AuthKey": "CANARY-bgp-1"}})
	first[1] = conn("vco-banned", "banned", "password", nil)
	first[2] = conn("vco-exposed", "hq CANARY-exposed-9f2k1m link", "CANARY-exposed-9f2k1m", map[string]any{
		"Tag": map[string]any{"Tag": []any{map[string]any{"Key": "note", "Value": "CANARY-late-key-77"}}}})
	first[3] = conn("vco-long", "long", long, nil)
	first[4] = conn("vco-number", "number", json.Number("123456"), nil)
	first[5] = conn("vco-odd", "odd", "CANARY-odd-1", map[string]any{"IpsecConfig": "aes", "VpnBgpConfig": []any{1}})
	return map[string][][]map[string]any{
		"cn-hangzhou": {first, {
			conn("vco-other-CANARY-bgp-1", "CANARY-reused in a name", "CANARY-late-key-77", nil),
			{"VpnConnectionId": "vco-dual", "Name": "dual", "EnableTunnelsBgp": false, "TunnelOptionsSpecification": map[string]any{"TunnelOptions": []any{
				map[string]any{"TunnelId": "tun-1", "Role": "master", "Status": "ipsec_sa_established", "EnableDpd": "true",
					"TunnelIkeConfig": ike("CANARY-reused", "l", "r"), "TunnelIpsecConfig": ipsec},
				map[string]any{"TunnelId": "tun-2", "Role": "slave", "Status": "ipsec_sa_established", "EnableDpd": "true",
					"TunnelIkeConfig": ike("Tunnel2-Strong#Key-8812aa", "l", "CANARY-reused"), "TunnelIpsecConfig": ipsec},
			}}},
		}},
		"cn-shanghai": {{conn("vco-sh", "sh", "CANARY-reused", nil)}},
	}
}

func pageBody(t *testing.T, conns []map[string]any, total, number int) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"RequestId": "req", "TotalCount": total, "PageNumber": number, "PageSize": 50,
		"VpnConnections": map[string]any{"VpnConnection": conns}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func findingLines(rep *report.Report) []string {
	var out []string
	for _, f := range rep.Findings {
		out = append(out, strings.Join([]string{f.Region, f.ConnectionID, f.ConnectionName, f.TunnelID, f.Rule, f.Severity.String(), f.Message}, " | "))
	}
	slices.Sort(out)
	return out
}

// A replay of what --save-inventory wrote gives the findings of the run
// that saved it, and the saved files hold no key.
func TestSaveReplayGivesTheSameFindings(t *testing.T) {
	// With a pepper (VPNCHECK_KEY_PEPPER) too: the replay, given the same
	// pepper, judges the banned list and reuse alike; the files hold no pepper.
	for _, pepper := range [][]byte{nil, []byte("CANARY-PEPPER-A-3f9e1c7d2b")} {
		scheme := "pbkdf2-sha256"
		if pepper != nil {
			scheme = "pbkdf2-sha256-hmac"
		}
		t.Run(scheme, func(t *testing.T) {
			testSaveReplay(t, pepper, scheme)
		})
	}
}

func testSaveReplay(t *testing.T, pepper []byte, scheme string) {
	eng, err := checker.NewEngine(context.Background(), checker.Policies{Builtin: policies.FS})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "save")
	saver, err := NewSaver(dir, pepper)
	if err != nil {
		t.Fatal(err)
	}
	live := inventory.New()
	for region, pages := range replayConns() {
		total := 0
		for _, p := range pages {
			total += len(p)
		}
		ls := live.NewListing(region, 50)
		for i, p := range pages {
			body := pageBody(t, p, total, i+1)
			res, err := ls.AddPage(i+1, bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if i == len(pages)-1 && !res.Complete {
				t.Fatalf("%s: %+v", region, res)
			}
			if err := saver.SavePage(region, i+1, 50, body); err != nil {
				t.Fatal(err)
			}
		}
		live.MarkScanned(region)
	}
	if err := saver.Close(); err != nil {
		t.Fatal(err)
	}
	liveRes, err := eng.Check(context.Background(), live, checker.Options{Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}

	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) != 3 {
		t.Fatalf("files %v", files)
	}
	replay := inventory.New()
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, canary := range []string{"CANARY", "PEPPER", "password", "123456", "Zq8#kW2!"} {
			if strings.Contains(string(b), canary) {
				t.Errorf("%s holds %q", filepath.Base(f), canary)
			}
		}
		if !strings.Contains(string(b), `"VpncheckSalt": "`+scheme+`:`) || !strings.Contains(string(b), `"PageSize": 50`) {
			t.Errorf("%s: no salt or page size", f)
		}
		if err := replay.ReadFile(f, ""); err != nil {
			t.Fatal(err)
		}
	}
	replayRes, err := eng.Check(context.Background(), replay, checker.Options{Now: fixedNow, KeyPepper: pepper})
	if err != nil {
		t.Fatal(err)
	}

	want, got := findingLines(liveRes.Report), findingLines(replayRes.Report)
	t.Logf("%d findings:\n%s", len(want), strings.Join(want, "\n"))
	if !slices.Equal(got, want) {
		t.Errorf("replay findings differ\nlive:\n%s\nreplay:\n%s", strings.Join(want, "\n"), strings.Join(got, "\n"))
	}
	for _, rule := range []string{"psk-weak", "psk-reused", "psk-exposed"} {
		if !slices.ContainsFunc(want, func(l string) bool { return strings.Contains(l, "| "+rule+" |") }) {
			t.Errorf("the run has no %s finding: the test proves nothing for it", rule)
		}
	}
	errLines := func(r *report.Report) []string {
		var out []string
		for _, e := range r.Errors {
			out = append(out, e.Region+" "+e.Code+" "+e.Message)
		}
		return out
	}
	if l, r := errLines(liveRes.Report), errLines(replayRes.Report); !slices.Equal(l, r) || len(l) != 1 || !strings.Contains(l[0], "vco-odd: IpsecConfig") {
		t.Errorf("errors: live %q, replay %q; want the same one, naming vco-odd's first odd field (encoding/json reports the first)", l, r)
	}
	var js bytes.Buffer
	json.NewEncoder(&js).Encode([]*report.Report{liveRes.Report, replayRes.Report})
	if strings.Contains(js.String(), "CANARY") {
		t.Errorf("a key shows in a report: %s", js.String())
	}
}

// fixedNow is the check's clock, as checker's tests have it.
var fixedNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
