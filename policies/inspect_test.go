package policies_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/vpncheck/vpncheck/policies"
)

// entry is one file of a hand-packed bundle. size, when over len(body),
// is the size its header declares: the archive ends inside its body, so
// a reader that reads the body fails with unexpected EOF, and one that
// refuses at the header does not.
type entry struct {
	name string
	body []byte
	size int64
}

// entries unpacks a bundle as OPA's writer packed it.
func entries(t *testing.T, bundle []byte) []entry {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(bundle))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var out []entry
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, entry{name: h.Name, body: body})
	}
}

// pack writes entries as a .tar.gz, in their order, stopping inside the
// first entry whose declared size is over its body.
func pack(t *testing.T, es []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range es {
		size := max(e.size, int64(len(e.body)))
		if err := tw.WriteHeader(&tar.Header{Name: e.name, Mode: 0o644, Size: size, Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.body); err != nil {
			t.Fatal(err)
		}
		if size > int64(len(e.body)) {
			if err := tw.Flush(); err == nil {
				t.Fatal("tar flushed a short body")
			}
			if err := gz.Close(); err != nil {
				t.Fatal(err)
			}
			return buf.Bytes() // cut off inside the body
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// controlFirst orders entries as policies/bundle.sh packs them (sorted,
// so .manifest and .signatures.json come first); OPA's writer puts
// .manifest last.
func controlFirst(es []entry) []entry {
	es = slices.Clone(es)
	slices.SortStableFunc(es, func(a, b entry) int {
		return strings.Compare(strings.TrimPrefix(a.name, "/"), strings.TrimPrefix(b.name, "/"))
	})
	return es
}

func zeros(n int, format string, size int) []entry {
	out := make([]entry, n)
	for i := range out {
		out[i] = entry{name: fmt.Sprintf(format, i), body: make([]byte, size)}
	}
	return out
}

// A bundle's archive is bounded (MaxBundleFiles entries, MaxBundleBytes
// uncompressed) and holds only files under its manifest's roots, checked
// at each tar header before the body is read; with a key, the signature's
// file list is checked before any other body is read. Each refusal is one
// line. Before: OPA's reader inflated every file into memory first, and
// accepted any number of files, any total and any file it ignores.
func TestBundleBounds(t *testing.T) {
	rk, _ := testKeys(t)
	example := os.DirFS("../examples/team-policies/custom_rule")
	unsigned := entries(t, build(t, example, "r1", exampleRoots, "", "", nil))
	signed := entries(t, build(t, example, "r1", exampleRoots, rk.private, "RS256", nil))
	filler := MaxBundleFilesLeft(len(unsigned))
	for _, tc := range []struct {
		name   string
		bundle []byte
		key    string
		want   string // "" loads
	}{
		{"zero-filled files outside the roots, manifest first",
			pack(t, append(controlFirst(unsigned), entry{name: "junk/zero-0.bin", body: make([]byte, 4096), size: 30 << 20})), "",
			"junk/zero-0.bin lies outside the manifest's roots (vpncheck/rules/missing_required_tag, vpncheck/config)"},
		{"zero-filled files outside the roots, manifest last",
			pack(t, append(zeros(3, "junk/zero-%d.bin", 1<<20), unsigned...)), "",
			"junk/zero-0.bin lies outside the manifest's roots"},
		{"many small files outside the roots",
			pack(t, append(zeros(200, "junk/zero-%d.bin", 64<<10), unsigned...)), "",
			"junk/zero-0.bin lies outside the manifest's roots"},
		{"a README beside the rules", pack(t, append(unsigned, entry{name: "README.md", body: []byte("# team rules\n")})), "",
			"README.md lies outside the manifest's roots"},
		{"a path that climbs out of a root", pack(t, append(unsigned, entry{name: "vpncheck/config/../../x.rego", body: []byte(teamRule)})), "",
			"x.rego lies outside the manifest's roots"},
		{"one file over the total", pack(t, append(controlFirst(unsigned), entry{name: "vpncheck/config/big.bin", body: make([]byte, 4096), size: policies.MaxBundleBytes + 1})), "",
			fmt.Sprintf("vpncheck/config/big.bin: %d bytes take the bundle past 16 MiB uncompressed", policies.MaxBundleBytes+1)},
		{"files over the total", pack(t, append(unsigned, zeros(17, "vpncheck/config/zero-%d.bin", 1<<20)...)), "",
			"vpncheck/config/zero-15.bin: 1048576 bytes take the bundle past 16 MiB uncompressed"},
		{"more files than the limit", pack(t, append(unsigned, zeros(filler+1, "vpncheck/config/f-%d.txt", 1)...)), "",
			"more than 1000 files: a team bundle holds at most 1000"},
		{"as many files as the limit", pack(t, append(unsigned, zeros(filler, "vpncheck/config/f-%d.txt", 1)...)), "", ""},
		{"an unsigned file before its body is read", pack(t, append(controlFirst(signed), entry{name: "vpncheck/config/extra.json", body: []byte("{"), size: 1 << 20})), rk.public,
			"contents differ from what was signed: file vpncheck/config/extra.json not included in bundle signature"},
		{"an unsigned file outside the roots, signature first", pack(t, append(controlFirst(signed), zeros(200, "junk/zero-%d.bin", 64<<10)...)), rk.public,
			"contents differ from what was signed: file junk/zero-0.bin not included in bundle signature"},
		{"an unsigned file outside the roots, signature after it", pack(t, append(zeros(3, "junk/zero-%d.bin", 1<<20), signed...)), rk.public,
			"contents differ from what was signed: file junk/zero-0.bin not included in bundle signature"},
		{"signed, in bundle.sh's order", pack(t, controlFirst(signed)), rk.public, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := policies.Load(context.Background(), policies.Options{Bundle: tc.bundle, Source: "team.tar.gz", PublicKey: tc.key})
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want == "":
				return
			case err == nil:
				t.Fatal("loaded")
			}
			if !errors.Is(err, policies.ErrPolicy) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error:\n %s\nwant ErrPolicy containing\n %s", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") || len(err.Error()) > 400 {
				t.Errorf("error is not one short line: %q", err)
			}
		})
	}
}

// MaxBundleFilesLeft is how many files a bundle of n files may add.
func MaxBundleFilesLeft(n int) int { return policies.MaxBundleFiles - n }
