package alibaba

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vpncheck/vpncheck/checker/badinput"
	"github.com/vpncheck/vpncheck/checker/inventory"
	"github.com/vpncheck/vpncheck/checker/vpcfake"
)

// TestLiveRefusesUnknownRegions: a misspelt region is refused before any
// connection is described, naming the nearest id; an id outside the
// built-in list is taken when the endpoint's DescribeRegions answers it.
func TestLiveRefusesUnknownRegions(t *testing.T) {
	for _, tc := range []struct {
		name             string
		regions, exclude []string
		offered          []string // DescribeRegions' answer; nil: the seeded regions
		regionsFault     bool     // DescribeRegions answers Forbidden.RAM
		want             string   // "" collected
		describeRegions  int      // DescribeRegions calls
	}{
		{"built-in ids need no lookup", []string{"cn-hangzhou"}, nil, nil, false, "", 0},
		{"typo", []string{"cn-hangzhou", "cn-hangzou"}, nil, nil, false, "unknown region cn-hangzou; did you mean cn-hangzhou?", 1},
		{"typo in the excluded", []string{"all"}, []string{"cn-shangai"}, nil, false, "unknown region cn-shangai; did you mean cn-shanghai?", 1},
		{"the endpoint's own region", []string{"xx-test-1"}, nil, []string{"cn-hangzhou", "xx-test-1"}, false, "", 1},
		{"typo of the endpoint's region", []string{"xx-tset-1"}, nil, []string{"cn-hangzhou", "xx-test-1"}, false, "did you mean xx-test-1?", 1},
		{"no answer to confirm it", []string{"cn-hangzou"}, nil, nil, true, "did you mean cn-hangzhou? (it is not in the built-in list, and the API could not be asked: describe regions: Forbidden.RAM", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startFake(t)
			s.AddConnections("cn-hangzhou", vpcfake.Connection("cn-hangzhou", 0))
			s.AddConnections("xx-test-1", vpcfake.Connection("xx-test-1", 0))
			if tc.offered != nil {
				s.SetRegions(tc.offered...)
			}
			if tc.regionsFault {
				s.InjectDescribeRegions(vpcfake.Fault{Code: "Forbidden.RAM"})
			}
			isolateCredentialChain(t)
			cred, err := StaticCredential(fakeAK, fakeSecret, fakeToken)
			if err != nil {
				t.Fatal(err)
			}
			inv := inventory.New()
			err = Live{Config: CollectorConfig{Credential: cred, Endpoint: s.URL}, Regions: tc.regions, Exclude: tc.exclude, Home: "cn-hangzhou"}.Collect(context.Background(), inv)
			if tc.want == "" {
				if err != nil || inv.Len() == 0 {
					t.Fatalf("err %v, %d connections", err, inv.Len())
				}
			} else {
				if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, badinput.Err) {
					t.Fatalf("err %v, want a usage error with %q", err, tc.want)
				}
				for _, c := range s.Log() {
					if c.Action == vpcfake.ActionDescribeVpnConnections {
						t.Errorf("%s described before the refusal", c.Region)
					}
				}
			}
			if n := s.Calls(vpcfake.ActionDescribeRegions, ""); n != tc.describeRegions {
				t.Errorf("DescribeRegions called %d times, want %d", n, tc.describeRegions)
			}
		})
	}
}
