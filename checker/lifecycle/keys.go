package lifecycle

import (
	"maps"
	"net/url"
	"strings"

	"github.com/vpncheck/vpncheck/checker/report"
)

// KeyPrints are keyed fingerprints of the pre-shared keys of an account's
// tunnels, never the keys: a change event's run sees one connection, and
// compares its keys with these to tell psk-reused at once. Salt keys the
// fingerprints (its text names the function, e.g. PBKDF2 with its
// iterations and random salt); fingerprints made with another salt cannot
// be compared with them.
type KeyPrints struct {
	Salt string `json:"salt"`
	// Tunnels maps each tunnel's TunnelPlace to its key's fingerprint.
	Tunnels map[string]string `json:"tunnels"`
}

// TunnelPlace names a tunnel in KeyPrints: "region/connection/tunnel",
// each part path-escaped so that a slash inside one cannot shift the others.
func TunnelPlace(region, connection, tunnel string) string {
	return url.PathEscape(region) + "/" + url.PathEscape(connection) + "/" + url.PathEscape(tunnel)
}

// ConnectionPlace is the region and connection of a TunnelPlace; ok is
// false for text that is not one.
func ConnectionPlace(place string) (region, connection string, ok bool) {
	parts := strings.Split(place, "/")
	if len(parts) != 3 {
		return "", "", false
	}
	r, err1 := url.PathUnescape(parts[0])
	c, err2 := url.PathUnescape(parts[1])
	if err1 != nil || err2 != nil {
		return "", "", false
	}
	return r, c, true
}

// advanceKeys is the state's key prints after a run that made run (nil:
// it made none, and the state's stay as they are). The run's entries are
// current; an entry of the state is dropped where the run judged its
// connection completely (it is gone, or its key is among the run's) or
// read that connection at all. Prints of another salt cannot be merged: a
// whole run's replace the state's, and a partial run's are left out, its
// connection's old entries with them.
func advanceKeys(prev *KeyPrints, o Options) *KeyPrints {
	run := o.Keys
	if run == nil {
		return prev
	}
	if prev == nil || prev.Salt != run.Salt {
		if o.Partial == nil || prev == nil {
			return &KeyPrints{Salt: run.Salt, Tunnels: maps.Clone(run.Tunnels)}
		}
		run = &KeyPrints{Salt: prev.Salt}
	}
	read := map[[2]string]bool{}
	for place := range run.Tunnels {
		if r, c, ok := ConnectionPlace(place); ok {
			read[[2]string{r, c}] = true
		}
	}
	next := &KeyPrints{Salt: run.Salt, Tunnels: make(map[string]string, len(prev.Tunnels)+len(run.Tunnels))}
	for place, fp := range prev.Tunnels {
		r, c, ok := ConnectionPlace(place)
		if !ok {
			continue
		}
		if read[[2]string{r, c}] {
			continue
		}
		f := report.Finding{Region: r, ConnectionID: c}
		if !o.outside(&f) && o.Judged != nil && o.Judged(&f) {
			continue
		}
		next.Tunnels[place] = fp
	}
	for place, fp := range run.Tunnels {
		next.Tunnels[place] = fp
	}
	return next
}
