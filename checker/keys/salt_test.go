package keys

import (
	"bytes"
	"testing"
)

func TestSaltRoundTrip(t *testing.T) {
	s := Salt{iter: kdfIterations, salt: []byte("0123456789abcdef")}
	got, ok := parseSalt(s.String(), nil)
	if !ok || got.iter != s.iter || !bytes.Equal(got.salt, s.salt) || got.fingerprint("k") != s.fingerprint("k") {
		t.Fatalf("parse %q: %+v %v", s, got, ok)
	}
	for _, bad := range []string{"", "sha1:1000:00", "pbkdf2-sha256:0:0011223344556677", "pbkdf2-sha256:99999999:0011223344556677", "pbkdf2-sha256:10:zz"} {
		if _, ok := parseSalt(bad, nil); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}
