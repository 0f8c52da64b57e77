package inventory

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vpncheck/vpncheck/checker/apiwire"
	"github.com/vpncheck/vpncheck/checker/report"
)

func decodeString(t testing.TB, body string) ([]*apiwire.Connection, apiwire.Page, error) {
	t.Helper()
	var out []*apiwire.Connection
	info, err := apiwire.Decode(strings.NewReader(body), func(c *apiwire.Connection, _ []string) error {
		out = append(out, c)
		return nil
	})
	return out, info, err
}

func TestDecodeInventoryReadsTheBody(t *testing.T) {
	conns, info, err := decodeString(t, `{
		"TotalCount": "3", "RegionId": "cn-shanghai", "RequestId": "req-1", "PageNumber": 1,
		"Extra": {"nested": [1, {"a": null}]},
		"VpnConnections": {"VpnConnection": [{"VpnConnectionId": "vco-1"}, {"VpnConnectionId": "vco-2"}]}
	}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(conns) != 2 || conns[1].VpnConnectionId != "vco-2" {
		t.Errorf("connections = %v", conns)
	}
	if info.RegionID != "cn-shanghai" || info.TotalCount != 3 || !info.HasTotal || info.RequestID != "req-1" {
		t.Errorf("info = %+v", info)
	}
}

func TestDecodeInventoryRegionId(t *testing.T) {
	for _, tc := range []struct{ name, field, want string }{
		{"string", `"RegionId": "cn-beijing",`, "cn-beijing"},
		{"empty", `"RegionId": "",`, ""},
		{"number", `"RegionId": 7,`, ""},
		{"null", `"RegionId": null,`, ""},
		{"object", `"RegionId": {"x": 1},`, ""},
		{"absent", ``, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, info, err := decodeString(t, `{`+tc.field+`"VpnConnections": {"VpnConnection": []}}`)
			if err != nil {
				t.Fatal(err)
			}
			if info.RegionID != tc.want {
				t.Errorf("RegionID = %q, want %q", info.RegionID, tc.want)
			}
		})
	}
}

func TestDecodeInventoryRejects(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"empty", ``, "empty"},
		{"blank", "  \n", "empty"},
		{"not json", `hello`, "invalid JSON"},
		{"array", `[{"VpnConnectionId": "vco-1"}]`, "expected a JSON object"},
		{"other api", `{"RequestId": "x", "Vpcs": {"Vpc": []}}`, "no VpnConnections.VpnConnection array"},
		{"list missing", `{"VpnConnections": {}}`, "no VpnConnections.VpnConnection array"},
		{"list not array", `{"VpnConnections": {"VpnConnection": {"VpnConnectionId": "x"}}}`, "is not an array"},
		{"wrapper not object", `{"VpnConnections": []}`, "not an object"},
		{"truncated", `{"VpnConnections": {"VpnConnection": [{"VpnConnectionId": "vco-1"}, {"Vpn`, "truncated"},
		{"trailing data", `{"VpnConnections": {"VpnConnection": []}} {}`, "data after"},
		{"connection truncated", `{"VpnConnections": {"VpnConnection": [{"IkeConfig": {"IkeMode": "main"`, "truncated"},
		{"API error", `{"RequestId": "R", "Code": "Forbidden.RAM", "Message": "no"}`, "an API error answer (code Forbidden.RAM)"},
		{"too deep", `{"VpnConnections": {"VpnConnection": [{"X": ` + strings.Repeat("[", apiwire.MaxDepth+1) + strings.Repeat("]", apiwire.MaxDepth+1) + `}]}}`,
			"nested more than 10000 levels deep"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := decodeString(t, tc.body)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, apiwire.ErrUnreadable) {
				t.Errorf("error %v does not wrap apiwire.ErrUnreadable", err)
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q: want one line containing %q", err, tc.want)
			}
		})
	}
}

func TestDecodeInventoryNullListIsEmpty(t *testing.T) {
	conns, _, err := decodeString(t, `{"VpnConnections": {"VpnConnection": null}}`)
	if err != nil || len(conns) != 0 {
		t.Fatalf("got %d connections, err %v", len(conns), err)
	}
}

// A syntax error must not quote the input: a key may be right there.
func TestDecodeInventoryErrorDoesNotQuoteInput(t *testing.T) {
	_, _, err := decodeString(t, `{"VpnConnections": {"VpnConnection": [{"IkeConfig": {"Psk": "canary-psk-7f3a"}} x`)
	if err == nil || strings.Contains(err.Error(), "canary") {
		t.Fatalf("err = %v", err)
	}
}

// A field of an unexpected type reads as absent and is named; an entry that
// is not an object is skipped and counted; the rest of the page is read.
func TestDecodeInventoryOddFieldsReadAsAbsent(t *testing.T) {
	var odd [][]string
	var conns []*apiwire.Connection
	info, err := apiwire.Decode(strings.NewReader(`{"TotalCount": 3, "VpnConnections": {"VpnConnection": [
		{"VpnConnectionId": "vco-1", "Name": {"Text": "x"}, "EnableDpd": [true], "Status": "ok"},
		{"VpnConnectionId": "vco-2", "IkeConfig": "main", "IpsecConfig": {"IpsecEncAlg": "aes"}},
		7,
		{"VpnConnectionId": "vco-3", "TunnelOptionsSpecification": {"TunnelOptions": [{"TunnelId": "t", "Role": {}}]}}
	]}}`), func(c *apiwire.Connection, o []string) error {
		conns, odd = append(conns, c), append(odd, o)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if info.Connections != 3 || info.Skipped != 1 {
		t.Errorf("connections %d, skipped %d; want 3, 1", info.Connections, info.Skipped)
	}
	want := [][]string{{"Name", "EnableDpd"}, {"IkeConfig"}, {"TunnelOptionsSpecification.TunnelOptions[0].Role"}}
	if !reflect.DeepEqual(odd, want) {
		t.Errorf("odd fields %q, want %q", odd, want)
	}
	if conns[0].Name != "" || conns[0].EnableDpd.Known || conns[0].Status != "ok" || conns[1].IpsecConfig == nil {
		t.Errorf("odd fields not read as absent, or the rest lost: %+v %+v", conns[0], conns[1])
	}
}

func TestLimitBody(t *testing.T) {
	for _, tc := range []struct {
		size, limit int
		tooLarge    bool
	}{{10, 10, false}, {11, 10, true}, {0, 10, false}, {1 << 20, 4096, true}} {
		b, err := io.ReadAll(apiwire.LimitBody(strings.NewReader(strings.Repeat("x", tc.size)), int64(tc.limit)))
		if got := errors.Is(err, apiwire.ErrBodyTooLarge); got != tc.tooLarge || (!tc.tooLarge && (err != nil || len(b) != tc.size)) {
			t.Errorf("%d bytes, limit %d: read %d, err %v", tc.size, tc.limit, len(b), err)
		}
	}
	// The decoder passes the limit on as itself, not as bad JSON.
	_, err := apiwire.Decode(apiwire.LimitBody(strings.NewReader(`{"VpnConnections": {"VpnConnection": [{"Name": "`+strings.Repeat("x", 5000)+`"}]}}`), 1000),
		func(*apiwire.Connection, []string) error { return nil })
	if !errors.Is(err, apiwire.ErrBodyTooLarge) {
		t.Errorf("err = %v, want apiwire.ErrBodyTooLarge", err)
	}
}

func page(total int, pageNumber, pageSize int, ids ...string) string {
	var conns []string
	for _, id := range ids {
		conns = append(conns, `{"VpnConnectionId": "`+id+`"}`)
	}
	head := ""
	if total >= 0 {
		head += fmt.Sprintf(`"TotalCount": %d, `, total)
	}
	if pageNumber > 0 {
		head += fmt.Sprintf(`"PageNumber": %d, "PageSize": %d, `, pageNumber, pageSize)
	}
	return `{` + head + `"VpnConnections": {"VpnConnection": [` + strings.Join(conns, ",") + `]}}`
}

func ids(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%s-%03d", prefix, i))
	}
	return out
}

// Completeness of files is judged per listing (region, TotalCount,
// PageSize), by distinct ids: a short page is not hidden by unrelated files
// of its region, and the pages of one listing add up.
func TestReadFileCompletenessPerListing(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name  string
		files []string
		want  []string // "region code" of the errors
	}{
		{"short page among unrelated files", []string{
			write("a.json", page(37, 1, 50, ids("a", 0, 10)...)),
			write("b.json", page(30, 1, 50, ids("b", 0, 30)...)),
		}, []string{"cn-hangzhou IncompleteInventory"}},
		{"two pages of one listing", []string{
			write("p1.json", page(60, 1, 50, ids("c", 0, 50)...)),
			write("p2.json", page(60, 2, 50, ids("c", 50, 60)...)),
		}, nil},
		{"one listing's pages overlap", []string{
			write("o1.json", page(60, 1, 50, ids("d", 0, 50)...)),
			write("o2.json", page(60, 2, 50, ids("d", 40, 50)...)),
		}, []string{"cn-hangzhou IncompleteInventory"}},
		{"no TotalCount makes no claim", []string{write("n.json", page(-1, 0, 0, "e-1"))}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv := New()
			for _, f := range tc.files {
				if err := inv.ReadFile(f, "cn-hangzhou"); err != nil {
					t.Fatal(err)
				}
			}
			var got []string
			for _, e := range inv.Errors() {
				got = append(got, e.Region+" "+e.Code)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("errors %v (%+v), want %v", got, inv.Errors(), tc.want)
			}
		})
	}
}

// Connections without an id are kept apart and reported.
func TestConnectionsWithoutIDAreKeptApart(t *testing.T) {
	inv := New()
	f := filepath.Join(t.TempDir(), "noid.json")
	os.WriteFile(f, []byte(`{"VpnConnections": {"VpnConnection": [{"Name": "a"}, {"Name": "b"}, {"VpnConnectionId": "vco-1"}]}}`), 0o600)
	if err := inv.ReadFile(f, "cn-hangzhou"); err != nil {
		t.Fatal(err)
	}
	r := inv.regions["cn-hangzhou"]
	var got []string
	for _, c := range r.conns {
		got = append(got, c.Connection.ID+"="+c.Connection.Name)
	}
	if want := []string{"vpncheck:no-id-1=a", "vpncheck:no-id-2=b", "vco-1="}; !slices.Equal(got, want) {
		t.Errorf("connections %v, want %v", got, want)
	}
	errs := inv.Errors()
	if len(errs) != 1 || errs[0].Code != report.CodeInvalidResponse || !strings.Contains(errs[0].Message, "2 connections in cn-hangzhou had no VpnConnectionId") {
		t.Errorf("errors %+v", errs)
	}
}

func TestReadFileSaysWhatIsWrong(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, body, want string }{
		{"empty", "", "the file is empty"},
		{"API error", `{"RequestId": "R", "HostId": "vpc.aliyuncs.com", "Code": "Forbidden.RAM", "Message": "User not authorized"}`, "an API error answer (code Forbidden.RAM)"},
		{"too deep", `{"VpnConnections": {"VpnConnection": [{"Name": ` + strings.Repeat(`{"a":`, apiwire.MaxDepth) + `1` + strings.Repeat("}", apiwire.MaxDepth) + `}]}}`, "too deeply"},
	} {
		p := filepath.Join(dir, tc.name+".json")
		os.WriteFile(p, []byte(tc.body), 0o600)
		err := New().ReadFile(p, "")
		if !errors.Is(err, apiwire.ErrUnreadable) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want apiwire.ErrUnreadable saying %q", tc.name, err, tc.want)
		}
	}
}

// The live listing's rules: complete by distinct ids against TotalCount;
// a missing or changing TotalCount, another page than asked, a page with
// nothing new, and more pages than needed end it as incomplete.
func TestListingJudgesEachPage(t *testing.T) {
	type step struct {
		body       string
		complete   bool
		incomplete string // part of the reason; "" when the listing goes on
	}
	for _, tc := range []struct {
		name  string
		steps []step
		held  int64
	}{
		{"two pages", []step{{page(60, 1, 50, ids("a", 0, 50)...), false, ""}, {page(60, 2, 50, ids("a", 50, 60)...), true, ""}}, 60},
		{"empty region", []step{{page(0, 1, 50), true, ""}}, 0},
		{"no TotalCount", []step{{page(-1, 1, 50, ids("a", 0, 50)...), false, "no TotalCount"}}, 50},
		{"page number ignored", []step{{page(120, 1, 50, ids("a", 0, 50)...), false, ""}, {page(120, 1, 50, ids("a", 0, 50)...), false, "answered page 1"}}, 50},
		{"page repeated", []step{{page(120, 0, 0, ids("a", 0, 50)...), false, ""}, {page(120, 0, 0, ids("a", 0, 50)...), false, "no connection that earlier pages did not"}}, 50},
		{"TotalCount changes", []step{{page(120, 1, 50, ids("a", 0, 50)...), false, ""}, {page(90, 2, 50, ids("a", 50, 100)...), false, "changed from 120 to 90"}}, 100},
		{"empty page short", []step{{page(120, 1, 50, ids("a", 0, 50)...), false, ""}, {page(120, 2, 50), false, "the page is empty (50 of 120"}}, 50},
		{"overlapping pages", []step{
			{page(100, 1, 50, ids("a", 0, 50)...), false, ""},
			{page(100, 2, 50, ids("a", 25, 75)...), false, ""},
			{page(100, 3, 50, ids("a", 50, 95)...), false, "3 pages read, one more than 100 connections at 50 a page need (95 of 100"},
		}, 95},
		{"negative TotalCount", []step{{`{"TotalCount": -5, "VpnConnections": {"VpnConnection": [{"VpnConnectionId": "a"}]}}`, false, "negative"}}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv := New()
			ls := inv.NewListing("cn-hangzhou", 50)
			var res PageResult
			for i, s := range tc.steps {
				var err error
				res, err = ls.AddPage(i+1, strings.NewReader(s.body))
				if err != nil {
					t.Fatal(err)
				}
				if res.Complete != s.complete || !strings.Contains(res.Incomplete, s.incomplete) || (s.incomplete == "" && res.Incomplete != "") {
					t.Fatalf("page %d: %+v, want complete %v, incomplete %q", i+1, res, s.complete, s.incomplete)
				}
			}
			if res.Held != tc.held {
				t.Errorf("held %d, want %d", res.Held, tc.held)
			}
			if got := inv.Regions()[0].Connections; int64(got) != tc.held {
				t.Errorf("inventory holds %d, want %d", got, tc.held)
			}
		})
	}
}

// Connections of one page with the same tags share one map; others keep
// their own.
func TestDecodePageSharesTagSets(t *testing.T) {
	body := `{"VpnConnections":{"VpnConnection":[
		{"VpnConnectionId":"vco-1","Tag":{"Tag":[{"Key":"env","Value":"prod"},{"Key":"owner","Value":"netops"}]}},
		{"VpnConnectionId":"vco-2","Tag":{"Tag":[{"Key":"owner","Value":"netops"},{"Key":"env","Value":"prod"}]}},
		{"VpnConnectionId":"vco-3","Tag":{"Tag":[{"Key":"env","Value":"dev"},{"Key":"owner","Value":"netops"}]}}]}}`
	conns, _, err := DecodePage(strings.NewReader(body), "cn-hangzhou")
	if err != nil || len(conns) != 3 {
		t.Fatalf("%d connections, %v", len(conns), err)
	}
	same := func(a, b map[string]string) bool {
		return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
	}
	t1, t2, t3 := conns[0].Connection.Tags, conns[1].Connection.Tags, conns[2].Connection.Tags
	if !same(t1, t2) || same(t1, t3) {
		t.Errorf("shared: 1 and 2 %v, 1 and 3 %v; want true, false", same(t1, t2), same(t1, t3))
	}
	if t3["env"] != "dev" || t1["env"] != "prod" || len(t2) != 2 {
		t.Errorf("tags %v %v %v", t1, t2, t3)
	}
}
