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
	var (
		entries  int
		total    int64
		roots    []string                   // nil until the manifest is read
		signed   map[string]bundle.FileInfo // nil until the signature verifies
		manifest bool
		pending  []string // files seen before roots (and signature) were known
	)
	ready := func() bool { return roots != nil && (vc == nil || signed != nil) }
	check := func(name string) error {
		if signed != nil {
			if _, ok := signed[strings.TrimPrefix(name, "/")]; !ok {
				// OPA's wording: the error reads as "contents differ".
				return fmt.Errorf("file %s not included in bundle signature", strings.TrimPrefix(name, "/"))
			}
		}
		if !inRoots(name, roots) {
			return fmt.Errorf("%s lies outside the manifest's roots (%s): a team bundle holds only its rules and data", cleanName(name), strings.Join(roots, ", "))
		}
		return nil
	}
	checkPending := func() error {
		if !ready() {
			return nil
		}
		for _, name := range pending {
			if err := check(name); err != nil {
				return err
			}
		}
		pending = nil
		return nil
	}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("archive read failed: %w", err)
		}
		if entries++; entries > MaxBundleFiles {
			return fmt.Errorf("more than %d files: a team bundle holds at most %d", MaxBundleFiles, MaxBundleFiles)
		}
		manifestFile := strings.HasSuffix(h.Name, bundle.ManifestExt) // what OPA's reader takes for the manifest
		regular := h.Typeflag == tar.TypeReg && !manifestFile && !bundle.IsSignaturesFile(h.Name)
		if regular && ready() {
			// Checked first: the most telling reason for a file of zeros.
			if err := check(h.Name); err != nil {
				return err
			}
		}
		if h.Size < 0 || h.Size > MaxBundleBytes-total {
			return fmt.Errorf("%s: %d bytes take the bundle past %d MiB uncompressed, the most a team bundle holds", cleanName(h.Name), h.Size, MaxBundleBytes>>20)
		}
		total += h.Size
		if h.Typeflag != tar.TypeReg {
			continue // OPA's reader skips all but regular files
		}
		switch {
		case manifestFile:
			if manifest {
				return fmt.Errorf("bundle contains multiple manifest files: %s", cleanName(h.Name))
			}
			manifest = true
			var m bundle.Manifest
			if err := json.NewDecoder(tr).Decode(&m); err != nil {
				return fmt.Errorf("bundle load failed on manifest decode: %w", err)
			}
			if err := checkRoots(m.Roots); err != nil {
				return err
			}
			roots = *m.Roots
			if err := checkPending(); err != nil {
				return err
			}
		case vc != nil && bundle.IsSignaturesFile(h.Name):
			if signed != nil {
				return fmt.Errorf("bundle contains multiple signatures files: %s", cleanName(h.Name))
			}
			var sc bundle.SignaturesConfig
			if err := json.NewDecoder(tr).Decode(&sc); err != nil {
				return fmt.Errorf("bundle load failed on signatures decode: %w", err)
			}
			if signed, err = bundle.VerifyBundleSignature(sc, vc); err != nil {
				return err
			}
			if err := checkPending(); err != nil {
				return err
			}
		case bundle.IsSignaturesFile(h.Name):
			// Without a key OPA's reader refuses a signed bundle.
		case !ready():
			pending = append(pending, h.Name)
		}
	}
	if roots == nil {
		return checkRoots(nil)
	}
	if vc != nil && signed == nil {
		return errors.New("bundle missing .signatures.json file") // OPA's wording
	}
	return checkPending()
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
