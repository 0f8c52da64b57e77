package policies

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/open-policy-agent/opa/v1/bundle"
)

// Bounds on a team bundle's contents. A team's rules and data are
// kilobytes; these leave room for a hundred times that. OPA's tar loader
// reads every file into memory before it looks at any, bounding only each
// file's size: a 600 KB archive of zeros took 650 MB, and 200 files 6 GB.
const (
	// MaxBundleFiles bounds the entries of a bundle's archive (files,
	// directories, links).
	MaxBundleFiles = 1000
	// MaxBundleBytes bounds the total uncompressed size of a bundle's files.
	MaxBundleBytes = 16 << 20
)

// inspectBundle reads a bundle's tar headers before OPA's reader reads any
// file, and refuses at a header, before its body is read or inflated:
// the entry past MaxBundleFiles, a size that would take the total past
// MaxBundleBytes, a file outside the manifest's roots and, with vc, a file
// the signature does not list. Only the bodies of .manifest and (with vc)
// .signatures.json are read here. Where the manifest or signature comes
// after other files (opa build writes .manifest last; policies/bundle.sh
// packs both first), those files are checked when it arrives: their
// bodies are skipped, never kept.
func inspectBundle(data []byte, vc *bundle.VerificationConfig) error {
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("archive read failed: %w", err)
	}
	tr := tar.NewReader(gz)
	in := &bundleInspector{vc: vc}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("archive read failed: %w", err)
		}
		if err := in.entry(h, tr); err != nil {
			return err
		}
	}
	if in.roots == nil {
		return checkRoots(nil)
	}
	if vc != nil && in.signed == nil {
		return errors.New("bundle missing .signatures.json file") // OPA's wording
	}
	return in.checkPending()
}

// bundleInspector is what inspectBundle knows so far of the bundle it reads.
type bundleInspector struct {
	vc       *bundle.VerificationConfig
	entries  int
	total    int64
	roots    []string                   // nil until the manifest is read
	signed   map[string]bundle.FileInfo // nil until the signature verifies
	manifest bool
	pending  []string // files seen before roots (and signature) were known
}

// ready says whether files can be checked: the roots are known and, with
// a key, the signed files.
func (in *bundleInspector) ready() bool {
	return in.roots != nil && (in.vc == nil || in.signed != nil)
}

// check refuses a file the signature does not list, or outside the roots.
func (in *bundleInspector) check(name string) error {
	if in.signed != nil {
		if _, ok := in.signed[strings.TrimPrefix(name, "/")]; !ok {
			// OPA's wording: the error reads as "contents differ".
			return fmt.Errorf("file %s not included in bundle signature", strings.TrimPrefix(name, "/"))
		}
	}
	if !inRoots(name, in.roots) {
		return fmt.Errorf("%s lies outside the manifest's roots (%s): a team bundle holds only its rules and data", cleanName(name), strings.Join(in.roots, ", "))
	}
	return nil
}

// checkPending checks the files seen before the inspector was ready, once
// it is.
func (in *bundleInspector) checkPending() error {
	if !in.ready() {
		return nil
	}
	for _, name := range in.pending {
		if err := in.check(name); err != nil {
			return err
		}
	}
	in.pending = nil
	return nil
}

// entry inspects one tar header; tr is positioned at its body, read only
// for the manifest and the signature.
func (in *bundleInspector) entry(h *tar.Header, tr io.Reader) error {
	if in.entries++; in.entries > MaxBundleFiles {
		return fmt.Errorf("more than %d files: a team bundle holds at most %d", MaxBundleFiles, MaxBundleFiles)
	}
	manifestFile := strings.HasSuffix(h.Name, bundle.ManifestExt) // what OPA's reader takes for the manifest
	regular := h.Typeflag == tar.TypeReg && !manifestFile && !bundle.IsSignaturesFile(h.Name)
	if regular && in.ready() {
		// Checked first: the most telling reason for a file of zeros.
		if err := in.check(h.Name); err != nil {
			return err
		}
	}
	if h.Size < 0 || h.Size > MaxBundleBytes-in.total {
		return fmt.Errorf("%s: %d bytes take the bundle past %d MiB uncompressed, the most a team bundle holds", cleanName(h.Name), h.Size, MaxBundleBytes>>20)
	}
	in.total += h.Size
	if h.Typeflag != tar.TypeReg {
		return nil // OPA's reader skips all but regular files
	}
	switch {
	case manifestFile:
		return in.readManifest(h, tr)
	case in.vc != nil && bundle.IsSignaturesFile(h.Name):
		return in.readSignatures(h, tr)
	case bundle.IsSignaturesFile(h.Name):
		// Without a key OPA's reader refuses a signed bundle.
	case !in.ready():
		in.pending = append(in.pending, h.Name)
	}
	return nil
}

func (in *bundleInspector) readManifest(h *tar.Header, tr io.Reader) error {
	if in.manifest {
		return fmt.Errorf("bundle contains multiple manifest files: %s", cleanName(h.Name))
	}
	in.manifest = true
	var m bundle.Manifest
	if err := json.NewDecoder(tr).Decode(&m); err != nil {
		return fmt.Errorf("bundle load failed on manifest decode: %w", err)
	}
	if err := checkRoots(m.Roots); err != nil {
		return err
	}
	in.roots = *m.Roots
	return in.checkPending()
}

func (in *bundleInspector) readSignatures(h *tar.Header, tr io.Reader) error {
	if in.signed != nil {
		return fmt.Errorf("bundle contains multiple signatures files: %s", cleanName(h.Name))
	}
	var sc bundle.SignaturesConfig
	if err := json.NewDecoder(tr).Decode(&sc); err != nil {
		return fmt.Errorf("bundle load failed on signatures decode: %w", err)
	}
	var err error
	if in.signed, err = bundle.VerifyBundleSignature(sc, in.vc); err != nil {
		return err
	}
	return in.checkPending()
}

// inRoots says whether a bundle file lies under one of the roots: its
// directory is a root or below one, or it is a data file above a root
// (opa build writes all data to /data.json), whose data OPA then checks
// against the roots.
func inRoots(name string, roots []string) bool {
	name = cleanName(name)
	dir, base := path.Dir(name), path.Base(name)
	data := base == "data.json" || base == "data.yaml" || base == "data.yml"
	for _, r := range roots {
		r = strings.Trim(r, "/")
		switch {
		case dir == r || strings.HasPrefix(dir, r+"/"):
			return true
		case data && (dir == "." || strings.HasPrefix(r, dir+"/")):
			return true
		}
	}
	return false
}

// cleanName is a tar entry's name as a clean relative path.
func cleanName(name string) string { return strings.TrimPrefix(path.Clean("/"+name), "/") }
