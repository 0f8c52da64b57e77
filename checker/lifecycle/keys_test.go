package lifecycle

import (
	"maps"
	"testing"

	"github.com/vpncheck/vpncheck/checker/report"
)

func TestTunnelPlace(t *testing.T) {
	for _, tc := range []struct{ region, conn, tunnel string }{
		{"cn-hangzhou", "vco-1", "tun-1"},
		{"cn-hangzhou", "vco-1", ""},
		{"a/b", "c/d%2F", "e/f"},
	} {
		p := TunnelPlace(tc.region, tc.conn, tc.tunnel)
		r, c, ok := ConnectionPlace(p)
		if !ok || r != tc.region || c != tc.conn {
			t.Errorf("%q: %q %q %v", p, r, c, ok)
		}
	}
	for _, bad := range []string{"", "a/b", "a/b/c/d", "%zz/b/c"} {
		if _, _, ok := ConnectionPlace(bad); ok {
			t.Errorf("%q read as a place", bad)
		}
	}
}

// The state's key prints: a whole run replaces what it judged, keeps what
// it could not scan; a change event swaps in its connection's entries only.
func TestAdvanceKeys(t *testing.T) {
	a1, a2 := TunnelPlace("cn-hangzhou", "vco-a", "tun-1"), TunnelPlace("cn-hangzhou", "vco-a", "tun-2")
	b := TunnelPlace("cn-hangzhou", "vco-b", "#0")
	s := TunnelPlace("cn-shanghai", "vco-s", "#0")
	prev := &KeyPrints{Salt: "s1", Tunnels: map[string]string{a1: "fa1", a2: "fa2", b: "fb", s: "fs"}}
	onlyA := func(f *report.Finding) bool { return f.ConnectionID == "vco-a" }
	hangzhou := func(f *report.Finding) bool { return f.Region == "cn-hangzhou" }
	none := func(*report.Finding) bool { return false }
	tests := []struct {
		name    string
		prev    *KeyPrints
		o       Options
		want    map[string]string
		wantNil bool
	}{
		{name: "no prints made: the state's stay", prev: prev, o: Options{Judged: all},
			want: prev.Tunnels},
		{name: "whole run, every region judged", prev: prev,
			o:    Options{Judged: all, Keys: &KeyPrints{Salt: "s1", Tunnels: map[string]string{a1: "new", b: "fb"}}},
			want: map[string]string{a1: "new", b: "fb"}},
		{name: "whole run, shanghai failed: its entries kept", prev: prev,
			o:    Options{Judged: hangzhou, Keys: &KeyPrints{Salt: "s1", Tunnels: map[string]string{a1: "new"}}},
			want: map[string]string{a1: "new", s: "fs"}},
		{name: "whole run of a new salt replaces all", prev: prev,
			o:    Options{Judged: hangzhou, Keys: &KeyPrints{Salt: "s2", Tunnels: map[string]string{a1: "x"}}},
			want: map[string]string{a1: "x"}},
		{name: "first run", prev: nil,
			o:    Options{Judged: all, Keys: &KeyPrints{Salt: "s1", Tunnels: map[string]string{b: "fb"}}},
			want: map[string]string{b: "fb"}},
		{name: "event: a changed to a single tunnel", prev: prev,
			o:    Options{Judged: all, Partial: onlyA, Keys: &KeyPrints{Salt: "s1", Tunnels: map[string]string{TunnelPlace("cn-hangzhou", "vco-a", "#0"): "fb"}}},
			want: map[string]string{TunnelPlace("cn-hangzhou", "vco-a", "#0"): "fb", b: "fb", s: "fs"}},
		{name: "event: a deleted", prev: prev,
			o:    Options{Judged: all, Partial: onlyA, Keys: &KeyPrints{Salt: "s1", Tunnels: map[string]string{}}},
			want: map[string]string{b: "fb", s: "fs"}},
		{name: "event: a not described: kept", prev: prev,
			o:    Options{Judged: none, Partial: onlyA, Keys: &KeyPrints{Salt: "s1", Tunnels: map[string]string{}}},
			want: prev.Tunnels},
		{name: "event of another salt: its prints left out, a's old ones too", prev: prev,
			o:    Options{Judged: all, Partial: onlyA, Keys: &KeyPrints{Salt: "s9", Tunnels: map[string]string{a1: "zz"}}},
			want: map[string]string{b: "fb", s: "fs"}},
		{name: "event without a state", prev: nil,
			o:    Options{Judged: all, Partial: onlyA, Keys: &KeyPrints{Salt: "s9", Tunnels: map[string]string{a1: "zz"}}},
			want: map[string]string{a1: "zz"}},
		{name: "no prints, no state", prev: nil, o: Options{Judged: all}, wantNil: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before map[string]string
			if tt.prev != nil {
				before = maps.Clone(tt.prev.Tunnels)
			}
			st := Empty()
			st.Keys = tt.prev
			next := Advance(roundTrip(t, st), rep(), tt.o)
			if tt.wantNil {
				if next.Keys != nil {
					t.Errorf("keys %+v", next.Keys)
				}
				return
			}
			if next.Keys == nil || !maps.Equal(next.Keys.Tunnels, tt.want) {
				t.Errorf("keys %+v, want %v", next.Keys, tt.want)
			}
			if tt.prev != nil && !maps.Equal(tt.prev.Tunnels, before) {
				t.Error("the previous state was modified")
			}
		})
	}
}
