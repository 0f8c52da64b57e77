package keys

import (
	"slices"
	"strconv"

	"github.com/vpncheck/vpncheck/checker/input"
	"github.com/vpncheck/vpncheck/checker/lifecycle"
)

// keyedTunnel is a tunnel whose key is fingerprinted: by the keyring's
// entry for a key read in clear, or by print for a saved fingerprint.
type keyedTunnel struct {
	c     *input.Connection
	i     int
	entry *keyEntry
	print string
}

func (k keyedTunnel) fingerprint() string {
	if k.entry != nil {
		return k.entry.print
	}
	return k.print
}

// printSalt is the salt a run fingerprints its keys with; nil when known
// is (no prints asked). It is known's, so that the prints compare with
// known's and the state keeps one salt across runs; a fresh one when known
// has none. With nothing to compare with, a save's salt that keys every
// key of the run wins, so that keys known only by their saved
// fingerprints are printed too. Every salt is the run's pepper's: a salt
// of another pepper (or none) is not the run's, as a salt of another save
// is not (see parseSalt).
func printSalt(known *KeyPrints, conns []*input.Connection, pepper []byte) *Salt {
	if known == nil {
		return nil
	}
	s, ok := parseSalt(known.Salt, pepper)
	if ok && len(known.Tunnels) > 0 {
		return &s
	}
	saved, plain, several := "", false, false
	for _, c := range conns {
		for _, t := range c.Tunnels {
			switch {
			case t.Key.Plain != "":
				plain = true
			case t.Key.Saved != nil && saved == "":
				saved = t.Key.Saved.Salt
			case t.Key.Saved != nil && t.Key.Saved.Salt != saved:
				several = true
			}
		}
	}
	if ss, sok := parseSalt(saved, pepper); sok && !plain && !several {
		return &ss
	}
	if ok {
		return &s
	}
	fresh, err := NewSalt(pepper)
	if err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return &fresh
}

// tunnelPrints are the run's fingerprints by tunnel place, ids as masked;
// a key the run's deadline left unprinted is left out.
func tunnelPrints(salt *Salt, keyed []keyedTunnel) *KeyPrints {
	out := &KeyPrints{Salt: salt.String(), Tunnels: make(map[string]string, len(keyed))}
	for _, k := range keyed {
		if fp := k.fingerprint(); fp != "" {
			out.Tunnels[tunnelPlace(k.c, k.i, out.Tunnels)] = fp
		}
	}
	return out
}

// tunnelPlace names tunnel i of c: by its id, by its index when it has
// none (a single-tunnel connection), and by both when its id is taken.
func tunnelPlace(c *input.Connection, i int, taken map[string]string) string {
	ci := &c.Connection
	name := c.Tunnels[i].ID
	if name == "" {
		name = "#" + strconv.Itoa(i)
	}
	place := lifecycle.TunnelPlace(ci.Region, ci.ID, name)
	if _, dup := taken[place]; dup {
		place = lifecycle.TunnelPlace(ci.Region, ci.ID, name+"#"+strconv.Itoa(i))
	}
	return place
}

// addKnown adds to each keyed tunnel's sharing the tunnels of known, of
// other connections than the run's, whose fingerprint is its key's.
func addKnown(known *KeyPrints, salt string, keyed []keyedTunnel, conns []*input.Connection, pepper []byte) {
	if known == nil || len(known.Tunnels) == 0 {
		return
	}
	if ks, ok := parseSalt(known.Salt, pepper); !ok || ks.String() != salt {
		return
	}
	ours := make(map[[2]string]bool, len(conns))
	for _, c := range conns {
		ours[[2]string{c.Connection.Region, c.Connection.ID}] = true
	}
	others := map[string]int{}
	for place, fp := range known.Tunnels {
		if r, id, ok := lifecycle.ConnectionPlace(place); ok && !ours[[2]string{r, id}] {
			others[fp]++
		}
	}
	for _, k := range keyed {
		if fp := k.fingerprint(); fp != "" {
			k.c.Tunnels[k.i].PSK.SharedWith += others[fp]
		}
	}
}

func appendUnique(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}
