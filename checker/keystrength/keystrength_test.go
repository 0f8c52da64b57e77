package keystrength

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/trustelem/zxcvbn"
)

var keys = flag.Int("keys", 1500, "random keys Guesses is compared with the library on")

// words that zxcvbn's dictionaries, l33t table, keyboards, sequences and
// dates know, to build keys that exercise every matcher.
var parts = []string{
	"password", "P@ssw0rd", "dragon", "Dr4g0n", "monkey", "m0nk3y", "qwerty", "asdfgh", "zxcvbn", "1qaz2wsx",
	"123456", "abcdef", "98765", "aaaa", "abab", "xyzxyz", "2024", "1999", "19/04/1987", "1.1.2001",
	"vpn", "hangzhou", "alibaba", "aliyun", "branch", "site", "hq", "psk", "secret", "Summer",
	"$", "!", "#", "@", "-", "_", "4", "3", "1", "0", "|", "7", "+", "%", "(", "<", "[",
	"Qx7!", "Zr2#", "k9", "ЖЖ", "é", "Ñandú",
}

func randomKey(r *rand.Rand) string {
	var b strings.Builder
	switch r.IntN(4) {
	case 0: // random characters
		const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!@#$%^&*()-_=+[]{}|;:,.<>/?~"
		for range 8 + r.IntN(30) {
			b.WriteByte(chars[r.IntN(len(chars))])
		}
	case 1: // the synthetic inventories' keys
		n := r.Uint32()
		fmt.Fprintf(&b, "Qx7!%08x-Zr2#%08x-%d", n*2654435761, n*40503, n%1000)
	default: // pieces zxcvbn recognises
		for range 1 + r.IntN(5) {
			p := parts[r.IntN(len(parts))]
			if r.IntN(3) == 0 {
				p = strings.ToUpper(p[:1]) + p[1:]
			}
			b.WriteString(p)
		}
	}
	return b.String()
}

func userInputs(r *rand.Rand, key string) []string {
	var in []string
	for range r.IntN(4) {
		switch r.IntN(3) {
		case 0:
			if len(key) > 3 {
				i := r.IntN(len(key) - 2)
				in = append(in, key[i:i+2+r.IntN(len(key)-i-1)]) // part of the key
			}
		case 1:
			in = append(in, parts[r.IntN(len(parts))])
		default:
			in = append(in, fmt.Sprintf("site-%d-hq", r.IntN(100)), "vco-abc123", "")
		}
	}
	return in
}

// Guesses is the library's estimate, exactly, for thousands of keys of
// every shape, with user inputs that overlap them or not.
func TestGuessesAreTheLibrarys(t *testing.T) {
	r := rand.New(rand.NewPCG(16, 2026))
	fixed := []string{"", "a", "123456", "password", "P@ssw0rd!", "vpn-key-7", "Qx7!9e3779b1-Zr2#00009e37-1", "aaaaaaaaaaaaaaaa",
		"abcabcabcabc", "correcthorsebatterystaple", "Tr0ub4dor&3", "19/04/1987", "qwertyuiop", "\xff\xfe", "Ñandú2024"}
	for i := range *keys + len(fixed) {
		var key string
		var in []string
		if i < len(fixed) {
			key = fixed[i]
		} else {
			key = randomKey(r)
			in = userInputs(r, key)
		}
		want := zxcvbn.PasswordStrength(key, in).Guesses
		if got := Guesses(key, in); got != want {
			t.Fatalf("key %q, user inputs %q: %v guesses, the library %v", key, in, got, want)
		}
	}
}

func BenchmarkGuesses(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	var ks []string
	for i := range 200 {
		n := uint32(i) * 7
		ks = append(ks, fmt.Sprintf("Qx7!%08x-Zr2#%08x-%d", n*2654435761, n*40503, n))
	}
	in := []string{"site-1-hq", "vco-synth0000001", "47.1.0.1", "203.0.1.0"}
	_ = r
	b.Run("keystrength", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			Guesses(ks[i%len(ks)], in)
		}
	})
	b.Run("library", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			zxcvbn.PasswordStrength(ks[i%len(ks)], in)
		}
	})
}
